// The Node.js Agent against a live dwe server at $DWE_TARGET
// (tests/server/test_server_node_client.py starts the server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import {
  Agent, DweClient, EventType, ExecutionMode, NonRetryableError, TERMINAL_EVENTS, fromJson, json,
} from "../dist/index.js";

const target = process.env.DWE_TARGET;
const client = new DweClient(target);
const ms = (n) => create(DurationSchema, { seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });

/** Runs `fn` with the agents serving, then stops them and waits for run() to end. */
async function serving(agents, fn) {
  const runs = agents.map((a) => a.run(target));
  try {
    await Promise.all(agents.map((a) => (a.connected ? null : new Promise((r) => a.once("connected", r)))));
    return await fn();
  } finally {
    agents.forEach((a) => a.stop());
    await Promise.all(runs);
  }
}

async function execute(spec) {
  const created = await client.createWorkflow(spec);
  const events = [];
  for await (const event of client.executeWorkflow(created.workflowId)) {
    events.push(event);
    if (TERMINAL_EVENTS.has(event.type)) break;
  }
  return events;
}

/** Resolves once `predicate()` holds (polled; rejects after `timeoutMs`). */
async function waitFor(predicate, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a diamond runs on a Node agent, outputs flowing to dependents", async () => {
  const agent = new Agent({ agentId: "node-diamond", maxConcurrentTasks: 2, agentType: "NodeAgent", labels: { lang: "node" } });
  agent.handler("n-diamond", async (task) => ({
    step: task.stepId, attempt: task.attempt, account: task.context.account,
    sum: Object.values(task.inputs).reduce((t, v) => t + v.n, 0) + 1, n: Object.keys(task.inputs).length + 1,
  }));
  const events = await serving([agent], () => execute({
    name: "diamond", context: json({ account: "ACC-1" }),
    steps: [
      { stepId: "a", capability: "n-diamond" },
      { stepId: "b", capability: "n-diamond", dependencies: ["a"] },
      { stepId: "c", capability: "n-diamond", dependencies: ["a"] },
      { stepId: "d", capability: "n-diamond", dependencies: ["b", "c"] },
    ],
  }));
  const last = events.at(-1);
  assert.equal(last.type, EventType.WORKFLOW_COMPLETED);
  const results = last.detail.value.summary.results;
  assert.deepEqual(fromJson(results.d), { step: "d", attempt: 1, account: "ACC-1", sum: 5, n: 3 });
  assert.ok(events.filter((e) => e.type === EventType.AGENT_STARTED).every((e) => e.agentId === "node-diamond"));
});

test("a retryable error is retried, a NonRetryableError is not", async () => {
  const agent = new Agent({ agentId: "node-retries" });
  class Flaky extends Error {}
  agent.handler("n-flaky", async (task) => {
    if (task.attempt < 3) throw new Flaky(`attempt ${task.attempt} fails`);
    return { attempt: task.attempt };
  });
  agent.handler("n-fatal", async () => {
    throw new NonRetryableError("bad input");
  });
  const [ok, failed] = await serving([agent], async () => [
    await execute({ name: "flaky", steps: [{ stepId: "f", capability: "n-flaky", retryCount: 3, retryDelay: ms(10) }] }),
    await execute({ name: "fatal", steps: [{ stepId: "x", capability: "n-fatal", retryCount: 3, retryDelay: ms(10) }] }),
  ]);
  assert.equal(ok.at(-1).type, EventType.WORKFLOW_COMPLETED);
  const errors = ok.filter((e) => e.type === EventType.AGENT_ERROR).map((e) => e.detail.value.error);
  assert.deepEqual(errors.map((e) => [e.type, e.retryable]), [["Flaky", true], ["Flaky", true]]);
  assert.deepEqual(fromJson(ok.at(-1).detail.value.summary.results.f), { attempt: 3 });
  assert.equal(failed.at(-1).type, EventType.WORKFLOW_FAILED);
  const fatal = failed.filter((e) => e.type === EventType.AGENT_ERROR).map((e) => e.detail.value.error);
  assert.deepEqual(fatal.map((e) => [e.type, e.retryable, e.message]), [["NonRetryableError", false, "bad input"]]);
});

test("a cancel aborts the handler's signal and frees the slot", async () => {
  const agent = new Agent({ agentId: "node-cancel", maxConcurrentTasks: 1 });
  const seen = [];
  agent.handler("n-block", (task) => new Promise((_, reject) => {
    task.signal.addEventListener("abort", () => {
      seen.push(task.signal.reason.kind);
      reject(task.signal.reason);
    });
  }));
  agent.handler("n-quick", async () => "done");
  await serving([agent], async () => {
    const blocked = await client.createWorkflow({ name: "blocked", steps: [{ stepId: "b", capability: "n-block" }] });
    await client.startWorkflow(blocked.workflowId);
    await waitFor(async () => (await client.listAgents()).some((a) => a.agentId === "node-cancel" && a.currentLoad === 1),
      "the blocking step holds the slot");
    await client.cancelWorkflow(blocked.workflowId, "test");
    const next = await execute({ name: "next", steps: [{ stepId: "q", capability: "n-quick" }] });
    assert.equal(next.at(-1).type, EventType.WORKFLOW_COMPLETED);
  });
  assert.deepEqual(seen, ["cancelled"]);
});

test("emitted records stream through a PIPELINE in order", async () => {
  const agent = new Agent({ agentId: "node-pipe", maxConcurrentTasks: 2 });
  agent.handler("n-source", async (task) => {
    for (let i = 0; i < 5; i++) await task.emit(i);
    return null;
  });
  agent.handler("n-double", async (task) => Object.values(task.inputs)[0] * 2);
  const events = await serving([agent], () => execute({
    name: "pipe", executionMode: ExecutionMode.PIPELINE,
    steps: [{ stepId: "src", capability: "n-source" }, { stepId: "dbl", capability: "n-double", dependencies: ["src"] }],
  }));
  assert.equal(events.at(-1).type, EventType.WORKFLOW_COMPLETED);
  assert.deepEqual(fromJson(events.at(-1).detail.value.summary.results.dbl), [0, 2, 4, 6, 8]);
  const streamed = events.filter((e) => e.type === EventType.AGENT_STREAM && e.stepId === "src");
  assert.deepEqual(streamed.map((e) => fromJson(e.detail.value.data)), [0, 1, 2, 3, 4]);
});

test.after(() => client.close());
