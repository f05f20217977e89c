// gRPC transport: @grpc/grpc-js calls whose (de)serializers are the generated
// schemas' toBinary/fromBinary. Unknown fields (a newer server) are kept, not errors.
import { type DescMessage, type MessageShape, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";

/** Channel options of every dwe channel: receive unbounded (the server bounds what it sends). */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = { "grpc.max_receive_message_length": -1 };

export function method(service: DescService, name: string): DescMethod {
  const m = service.methods.find((x) => x.name === name);
  if (!m) throw new Error(`${service.typeName} has no method ${name}`);
  return m;
}

export function path(m: DescMethod): string {
  return `/${m.parent.typeName}/${m.name}`;
}

export function serializer<D extends DescMessage>(schema: D): (msg: MessageShape<D>) => Buffer {
  return (msg) => Buffer.from(toBinary(schema, msg));
}

export function deserializer<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}

/** PEM files for TLS: `ca` verifies the server (empty: system roots); `cert` and `key` are the
 * client certificate for mTLS. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Channel credentials from PEM files. */
export function tlsCredentials(files: TlsFiles): grpc.ChannelCredentials {
  if (Boolean(files.cert) !== Boolean(files.key)) {
    throw new Error("a TLS client certificate needs its key, and a key its certificate");
  }
  const read = (path?: string) => (path ? readFileSync(path) : null);
  return grpc.credentials.createSsl(read(files.ca), read(files.key), read(files.cert));
}

/** Credentials from DWE_TLS_CA, DWE_TLS_CERT and DWE_TLS_KEY; undefined when none is set. */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): grpc.ChannelCredentials | undefined {
  const files = { ca: env.DWE_TLS_CA, cert: env.DWE_TLS_CERT, key: env.DWE_TLS_KEY };
  return files.ca || files.cert || files.key ? tlsCredentials(files) : undefined;
}

/** Call metadata carrying a bearer token (`token`, else DWE_TOKEN); empty without one. */
export function bearer(token?: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  const value = token ?? process.env.DWE_TOKEN ?? "";
  if (value) metadata.set("authorization", `Bearer ${value}`);
  return metadata;
}

/** A channel to `target`: `credentials` when given, else TLS from the DWE_TLS_* variables when
 * any is set, else plaintext. */
export function newClient(
  target: string,
  options: grpc.ChannelOptions = {},
  credentials?: grpc.ChannelCredentials,
): grpc.Client {
  const creds = credentials ?? tlsFromEnv() ?? grpc.credentials.createInsecure();
  return new grpc.Client(target, creds, { ...CHANNEL_OPTIONS, ...options });
}
