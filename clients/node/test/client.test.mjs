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
