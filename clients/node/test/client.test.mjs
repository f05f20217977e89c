// Runs against a live dwe server at $DWE_TARGET with an agent serving "analysis"
// (tests/server/test_server_node_client.py starts both).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DweClient, DweError, TERMINAL_EVENTS, fromJson, json } from "../index.js";

const client = new DweClient(process.env.DWE_TARGET);
let completedId = null; // the first test's workflow, pruned by the last one

test("a workflow runs and streams its events", async () => {
  const created = await client.createWorkflow({
    name: "from node",
    execution_mode: "EXECUTION_MODE_PARALLEL",
    context: json({ account_id: "ACC-NODE" }),
    steps: [
      { step_id: "a", name: "A", capability: "analysis" },
      { step_id: "b", name: "B", agent_capability: "analysis", dependencies: ["a"] },
    ],
  });
  assert.equal(created.created, true);
  completedId = created.workflow_id;
  const seen = [];
  for await (const event of client.executeWorkflow(created.workflow_id)) {
    seen.push(event);
    if (TERMINAL_EVENTS.has(event.type)) break;
  }
  assert.deepEqual(seen.map((e) => e.seq), seen.map((_, i) => i + 1));
  const last = seen.at(-1);
  assert.equal(last.type, "EVENT_TYPE_WORKFLOW_COMPLETED");
  assert.equal(last.detail, "workflow_completed");
  const summary = last.workflow_completed.summary;
  assert.equal(summary.success_rate, 1);
  assert.deepEqual(Object.keys(summary.results).sort(), ["a", "b"]);
  assert.equal(fromJson(summary.results.b).step, "b");
  assert.ok(seen.filter((e) => e.type === "EVENT_TYPE_AGENT_STARTED")
    .every((e) => e.detail === "step_assigned" && e.step_assigned.capability === "analysis"));
  const status = await client.getWorkflowStatus(created.workflow_id);
  assert.equal(status.state, "WORKFLOW_STATE_COMPLETED");
  assert.equal(status.progress, 1);
});

test("bad input is INVALID_ARGUMENT with a message naming the cycle", async () => {
  await assert.rejects(
    client.createWorkflow({
      name: "cyclic",
      steps: [
        { step_id: "A", capability: "analysis", dependencies: ["B"] },
        { step_id: "B", capability: "analysis", dependencies: ["A"] },
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
  assert.ok(metrics.completed_workflows >= 1);
  assert.ok("workflow_count" in metrics.performance_metrics);
});

test.after(() => client.close());

test("ended workflows are pruned, a dry run first", async () => {
  assert.deepEqual(await client.pruneWorkflows(3600, true), { workflows: 0, events: 0 });
  const counted = await client.pruneWorkflows(0, true);
  assert.ok(counted.workflows >= 1 && counted.events >= 1);
  assert.deepEqual(await client.pruneWorkflows(0), counted);
  await assert.rejects(
    client.getWorkflowStatus(completedId),
    (err) => err instanceof DweError && err.code === "NOT_FOUND",
  );
  await assert.rejects(
    client.pruneWorkflows(-1),
    (err) => err instanceof DweError && err.code === "INVALID_ARGUMENT",
  );
});
