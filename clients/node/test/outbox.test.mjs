// The agent's outgoing buffer and message decoding, without a server: numbered progress
// kept until acknowledged, resent on request and after a reconnect, messages cut to size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Outbox } from "../dist/outbox.js";
import {
  ConnectResponseSchema, StepProgressSchema, StepResultSchema, WelcomeSchema,
} from "../dist/index.js";
import { deserializer } from "../dist/rpc.js";

const progress = (attemptId, index, content = "") => create(StepProgressSchema, { attemptId, index: BigInt(index), content });
const output = (attemptId, bytes = 0) => create(StepResultSchema, {
  attemptId, outcome: { case: "output", value: { encoding: "json/plain", data: new Uint8Array(bytes) } },
});

test("a result counts the numbered progress before it", () => {
  const box = new Outbox();
  box.addProgress(progress("a", 1));
  box.addProgress(progress("a", 2));
  box.addResult(output("a"));
  box.addResult(output("b"));
  const msg = box.take();
  assert.deepEqual(msg.progress.map((p) => p.index), [1n, 2n]);
  assert.deepEqual(msg.results.map((r) => [r.attemptId, r.progressCount]), [["a", 2n], ["b", 0n]]);
  assert.equal(box.take(), undefined);
});

test("progress is kept until acknowledged and resent after the index asked for", () => {
  const box = new Outbox();
  for (let i = 1; i <= 4; i++) box.addProgress(progress("a", i));
  box.take();
  box.acknowledge("a", 1n);
  assert.deepEqual(box.unacked.get("a").map((p) => p.index), [2n, 3n, 4n]);
  box.addProgress(progress("b", 1));
  box.resend(new Map([["a", 2n]])); // ProgressAck{resend: true, index: 2}
  assert.deepEqual(box.take().progress.map((p) => [p.attemptId, p.index]), [["a", 3n], ["a", 4n], ["b", 1n]]);
  box.acknowledge("a", 4n);
  assert.equal(box.unacked.has("a"), false);
});

test("after a reconnect, resumed attempts resend past resumed_progress and others are forgotten", () => {
  const box = new Outbox();
  for (let i = 1; i <= 3; i++) box.addProgress(progress("kept", i));
  box.addProgress(progress("gone", 1));
  box.take();
  box.welcomed(["kept"], { kept: 1n });
  assert.deepEqual(box.take().progress.map((p) => [p.attemptId, p.index]), [["kept", 2n], ["kept", 3n]]);
  assert.deepEqual([...box.unacked.keys()], ["kept"]);
});

test("messages are cut to the byte budget, a result waiting for its attempt's progress", () => {
  const box = new Outbox();
  box.limit(2000n, 1000n); // budget: half the message limit
  assert.equal(box.maxBytes, 1000);
  assert.equal(box.maxPayload, 1000);
  box.addProgress(progress("a", 1, "x".repeat(600)));
  box.addProgress(progress("a", 2, "x".repeat(600)));
  box.addResult(output("a", 10));
  const first = box.take();
  assert.deepEqual([first.progress.length, first.results.length], [1, 0]);
  const second = box.take();
  assert.deepEqual([second.progress.length, second.results.length], [1, 1]);
  assert.equal(second.results[0].progressCount, 2n);
});

test("a ConnectResponse with fields this SDK does not know still decodes", () => {
  const known = toBinary(ConnectResponseSchema, create(ConnectResponseSchema, {
    welcome: create(WelcomeSchema, { sessionId: "s1", maxPayloadBytes: 10n }),
  }));
  // Field 99, length-delimited (a future `rejections` entry, say): tag (99 << 3 | 2) as a varint.
  const extra = Uint8Array.from([0x9a, 0x06, 3, 0x0a, 1, 0x41]);
  const bytes = Buffer.concat([Buffer.from(known), Buffer.from(extra)]);
  const msg = deserializer(ConnectResponseSchema)(bytes);
  assert.equal(msg.welcome.sessionId, "s1");
  assert.equal(msg.$unknown.length, 1);
  assert.equal(fromBinary(ConnectResponseSchema, bytes).welcome.maxPayloadBytes, 10n);
});
