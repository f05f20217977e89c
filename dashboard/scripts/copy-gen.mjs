// The dashboard decodes events from the committed protobuf bytes (GET /api/v1/events
// ?format=proto) with the TypeScript types the Node.js SDK commits (clients/node/src/gen,
// checked by `make check-node-proto`); copied, not imported, so that they resolve
// @bufbuild/protobuf from this package.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL("../../clients/node/src/gen/dwe/v1", import.meta.url));
const to = fileURLToPath(new URL("../src/gen/dwe/v1", import.meta.url));
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
for (const name of ["common_pb.ts", "enums_pb.ts", "workflow_pb.ts"]) {
  cpSync(`${from}/${name}`, `${to}/${name}`);
}
