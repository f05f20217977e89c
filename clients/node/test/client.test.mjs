// Runs against a live dwe server at $DWE_TARGET with an agent serving "analysis"
// (tests/server/test_server_node_client.py starts both).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DweClient, DweError, EventType, ExecutionMode, TERMINAL_EVENTS, WorkflowState, fromJson, json,
} from "../dist/index.js";

const client = new DweClient(process.env.DWE_TARGET);
let completedId = null; // the first test's workflow, pruned by the last one

test("a workflow runs and streams its events", async () => {
  const created = await client.createWorkflow({
    name: "from node",
    executionMode: ExecutionMode.PARALLEL,
    context: json({ account_id: "ACC-NODE" }),
    steps: [
      { stepId: "a", name: "A", capability: "analysis" },
      { stepId: "b", name: "B", agentCapability: "analysis", dependencies: ["a"] },
    ],
  });
  assert.equal(created.created, true);
  completedId = created.workflowId;
  const seen = [];
  for await (const event of client.executeWorkflow(created.workflowId)) {
    seen.push(event);
    if (TERMINAL_EVENTS.has(event.type)) break;
  }
  assert.deepEqual(seen.map((e) => e.seq), seen.map((_, i) => BigInt(i + 1)));
  const last = seen.at(-1);
  assert.equal(last.type, EventType.WORKFLOW_COMPLETED);
  assert.equal(last.detail.case, "workflowCompleted");
  const summary = last.detail.value.summary;
  assert.equal(summary.successRate, 1);
  assert.deepEqual(Object.keys(summary.results).sort(), ["a", "b"]);
  assert.equal(fromJson(summary.results.b).step, "b");
  assert.ok(seen.filter((e) => e.type === EventType.AGENT_STARTED)
    .every((e) => e.detail.case === "stepAssigned" && e.detail.value.capability === "analysis"));
  const status = await client.getWorkflowStatus(created.workflowId);
  assert.equal(status.state, WorkflowState.COMPLETED);
  assert.equal(status.progress, 1);
});

test("bad input is INVALID_ARGUMENT with a message naming the cycle", async () => {
  await assert.rejects(
    client.createWorkflow({
      name: "cyclic",
      steps: [
        { stepId: "A", capability: "analysis", dependencies: ["B"] },
        { stepId: "B", capability: "analysis", dependencies: ["A"] },
      ],
    }),
    (err) => err instanceof DweError && err.code === "INVALID_ARGUMENT"
      && err.details.includes("A -> B -> A"),
  );
});

const CYCLE = [
  { stepId: "a", agentCapability: "analysis", dependencies: ["b"] },
  { stepId: "b", agentCapability: "analysis", dependencies: ["a"] },
];
const CHAIN = [
  { stepId: "a", capability: "analysis" },
  { stepId: "b", capability: "analysis", dependencies: ["a"] },
];

test("createWorkflows answers each item in order, a bad one failing alone", async () => {
  const key = `node-batch-${process.pid}-${Date.now()}`;
  const results = await client.createWorkflows([
    { spec: { name: "batch one", steps: CHAIN }, requestId: key },
    { spec: { name: "batch cyclic", steps: CYCLE } },
    { spec: { name: "batch one again", steps: CHAIN }, requestId: key },
    { spec: { name: "batch three", steps: CHAIN } },
  ]);
  assert.equal(results.length, 4);
  const [first, bad, again, third] = results;
  assert.ok(!(first instanceof DweError) && first.created);
  assert.equal(first.status.state, WorkflowState.PENDING);
  assert.ok(bad instanceof DweError && bad.code === "INVALID_ARGUMENT");
  assert.ok(bad.details.includes("a -> b -> a"), bad.details);
  await assert.rejects(
    client.createWorkflow({ name: "batch cyclic", steps: CYCLE }),
    (err) => err instanceof DweError && err.code === bad.code && err.details === bad.details,
  );
  assert.ok(!(again instanceof DweError) && !again.created);
  assert.equal(again.workflowId, first.workflowId);
  assert.ok(!(third instanceof DweError) && third.created);
  const listed = await client.listWorkflows(100);
  assert.ok(!listed.workflows.some((w) => w.name === "batch cyclic"));
  await assert.rejects(
    client.createWorkflows([]),
    (err) => err instanceof DweError && err.code === "INVALID_ARGUMENT",
  );
});

test("executeWorkflows streams each workflow to its end, an unknown one as an item error", async () => {
  const made = await client.createWorkflows([0, 1, 2].map((i) => ({ spec: { name: `exec ${i}`, steps: CHAIN } })));
  assert.ok(made.every((r) => !(r instanceof DweError)));
  const ids = made.map((r) => r.workflowId);
  const twice = async () => {
    for await (const _ of client.executeWorkflows([{ workflowId: ids[0] }, { workflowId: ids[0] }])) {}
  };
  await assert.rejects(twice, (err) => err instanceof DweError && err.code === "INVALID_ARGUMENT"
    && err.details.includes("given twice"));
  const items = ids.map((workflowId, i) => ({ workflowId, context: { account_id: `ACC-${i}` }, sessionId: `s${i}` }));
  items.splice(1, 0, { workflowId: "no-such-workflow" });
  const events = new Map();
  const errors = [];
  for await (const { events: batch, errors: failed } of client.executeWorkflows(items)) {
    assert.ok(!(failed.length && events.size), "errors come before any event");
    errors.push(...failed);
    for (const event of batch) {
      if (!events.has(event.workflowId)) events.set(event.workflowId, []);
      events.get(event.workflowId).push(event);
    }
  }
  assert.deepEqual(errors.map((e) => [e instanceof DweError, e.workflowId, e.code]),
    [[true, "no-such-workflow", "NOT_FOUND"]]);
  assert.equal(errors[0].details, "workflow 'no-such-workflow' not found");
  assert.deepEqual([...events.keys()].sort(), [...ids].sort());
  ids.forEach((id, i) => {
    const seen = events.get(id);
    assert.deepEqual(seen.map((e) => e.seq), seen.map((_, j) => BigInt(j + 1)));
    assert.equal(seen.at(-1).type, EventType.WORKFLOW_COMPLETED);
    assert.equal(seen[0].detail.case, "workflowStarted");
    assert.equal(seen[0].detail.value.sessionId, `s${i}`);
    const results = seen.at(-1).detail.value.summary.results;
    assert.equal(fromJson(results.b).account, `ACC-${i}`);
  });
});

test("agents and metrics are listed", async () => {
  const agents = await client.listAgents();
  assert.ok(agents.some((a) => a.connected && a.capabilities.includes("analysis")));
  const metrics = await client.getEngineMetrics();
  assert.ok(metrics.completedWorkflows >= 1);
  assert.ok("workflow_count" in metrics.performanceMetrics);
});

test.after(() => client.close());

test("ended workflows are pruned, a dry run first", async () => {
  const nothing = await client.pruneWorkflows(3600, true);
  assert.deepEqual([nothing.workflows, nothing.events], [0n, 0n]);
  const counted = await client.pruneWorkflows(0, true);
  assert.ok(counted.workflows >= 1n && counted.events >= 1n);
  const pruned = await client.pruneWorkflows(0);
  assert.deepEqual([pruned.workflows, pruned.events], [counted.workflows, counted.events]);
  await assert.rejects(
    client.getWorkflowStatus(completedId),
    (err) => err instanceof DweError && err.code === "NOT_FOUND",
  );
  await assert.rejects(
    client.pruneWorkflows(-1),
    (err) => err instanceof DweError && err.code === "INVALID_ARGUMENT",
  );
});
