// gRPC transport: @grpc/grpc-js calls whose (de)serializers are the generated
// schemas' toBinary/fromBinary. Unknown fields (a newer server) are kept, not errors.
import { type DescMessage, type MessageShape, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

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

/** A channel to `target`; plaintext unless `credentials` are given (e.g. grpc.credentials.createSsl()). */
export function newClient(
  target: string,
  options: grpc.ChannelOptions = {},
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): grpc.Client {
  return new grpc.Client(target, credentials, { ...CHANNEL_OPTIONS, ...options });
}
