// json/plain Payloads: the only encoding the server reads.
import { create } from "@bufbuild/protobuf";
import { type Payload, PayloadSchema } from "./gen/dwe/v1/common_pb.js";

export const JSON_ENCODING = "json/plain";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The UTF-8 JSON bytes of `value` (throws TypeError when it is not JSON-able). */
export function jsonBytes(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`value of type ${typeof value} is not JSON-serialisable`);
  return encoder.encode(text);
}

/** A json/plain Payload holding `value`. */
export function json(value: unknown): Payload {
  return create(PayloadSchema, { encoding: JSON_ENCODING, data: jsonBytes(value) });
}

/** The value of a json/plain Payload (`fallback` when absent or empty). */
export function fromJson<T = unknown>(payload: Payload | undefined, fallback: T | null = null): T | null {
  if (!payload || payload.data.length === 0) return fallback;
  return JSON.parse(decoder.decode(payload.data)) as T;
}
