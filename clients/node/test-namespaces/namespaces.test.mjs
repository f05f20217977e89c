// Namespaces from @dwe/sdk against a live dwe server at $DWE_TARGET with auth off, where any
// valid namespace may be used (tests/clients/test_client_node_namespaces.py starts it).
// Kept out of test/ while tests/server/test_server_node_client.py counts that suite's tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, DweClient, DweError, EventType, StepState, TERMINAL_EVENTS, WorkflowState } from "../dist/index.js";

const target = process.env.DWE_TARGET;
delete process.env.DWE_NAMESPACE; // the defaults under test must not come from outside
const client = new DweClient(target);
const oneStep = (name, capability = "ns-work") => ({ name, steps: [{ stepId: "s", capability }] });

/** Resolves once `predicate()` holds (polled; rejects after `timeoutMs`). */
async function waitFor(predicate, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The events of a workflow to its terminal one (ExecuteWorkflow, or WatchWorkflow when `started`). */
async function toEnd(workflowId, started = false) {
  const events = [];
  const stream = started ? client.watchWorkflow(workflowId) : client.executeWorkflow(workflowId);
  for await (const event of stream) {
    events.push(event);
    if (TERMINAL_EVENTS.has(event.type)) break;
  }
  return events;
}

function namespaceAgent(agentId, namespace) {
  const agent = new Agent({ agentId, namespace, logger: { info() {}, warn() {}, error() {}, debug() {} } });
  agent.handler("ns-work", async (task) => ({ step: task.stepId, agent: agentId }));
  return agent;
}

/** Runs the agent; returns (in an object, not to await it) its run() once it is connected. */
async function start(agent) {
  const run = agent.run(target);
  await Promise.race([
    new Promise((resolve) => agent.once("connected", resolve)),
    run.then(() => { throw new Error(`agent ${agent.agentId} stopped before connecting`); }),
  ]);
  return { run };
}

test("a workflow created in a namespace reports it, and lists filter by namespace", async () => {
  const a = await client.createWorkflow(oneStep("a"), "", "team-a");
  assert.equal(a.status.namespace, "team-a");
  assert.equal((await client.getWorkflowStatus(a.workflowId)).namespace, "team-a");
  const b = await client.createWorkflow(oneStep("b"), "", "team-b");
  const plain = await client.createWorkflow(oneStep("plain"));
  assert.equal(plain.status.namespace, "default");
  const onlyA = (await client.listWorkflows(0, "", [], ["team-a"])).workflows;
  assert.deepEqual(onlyA.map((w) => [w.workflowId, w.namespace]), [[a.workflowId, "team-a"]]);
  const oneName = (await client.listWorkflows(0, "", [], "team-b")).workflows;
  assert.deepEqual(oneName.map((w) => w.workflowId), [b.workflowId]);
  for (const id of [a.workflowId, b.workflowId, plain.workflowId]) await client.cancelWorkflow(id);
});

test("the client's namespace is the default of creates and intents; DWE_NAMESPACE sets it", async () => {
  const teamB = new DweClient(target, {}, undefined, undefined, "team-b");
  try {
    assert.equal(teamB.namespace, "team-b");
    assert.equal((await teamB.createWorkflow(oneStep("x"))).status.namespace, "team-b");
    assert.equal((await teamB.createWorkflow(oneStep("y"), "", "team-a")).status.namespace, "team-a");
    const intent = await teamB.startIntent("analyze account ACC-1");
    assert.equal((await teamB.getWorkflowStatus(intent.workflowId)).namespace, "team-b");
    await teamB.cancelWorkflow(intent.workflowId);
  } finally {
    teamB.close();
  }
  process.env.DWE_NAMESPACE = "team-c";
  const fromEnv = new DweClient(target);
  delete process.env.DWE_NAMESPACE;
  try {
    assert.equal(fromEnv.namespace, "team-c");
    assert.equal((await fromEnv.createWorkflow(oneStep("z"))).status.namespace, "team-c");
  } finally {
    fromEnv.close();
  }
});

test("a malformed namespace is INVALID_ARGUMENT; server info names the caller's namespaces", async () => {
  await assert.rejects(client.createWorkflow(oneStep("bad"), "", "Team A"),
    (err) => err instanceof DweError && err.code === "INVALID_ARGUMENT" && err.details.includes("namespace"));
  const info = await client.getServerInfo();
  assert.deepEqual([info.namespace, info.namespaces], ["default", ["*"]]);
});

test("agents, metrics and prune take namespace filters", async () => {
  await client.registerAgent({ agentId: "ns-reg-a", capabilities: ["x"], maxConcurrentTasks: 1, namespace: "team-a" });
  const listed = await client.listAgents(["team-a"]);
  assert.deepEqual(listed.filter((a) => a.agentId.startsWith("ns-")).map((a) => [a.agentId, a.namespace]),
    [["ns-reg-a", "team-a"]]);
  assert.ok(!(await client.listAgents(["team-b"])).some((a) => a.agentId === "ns-reg-a"));
  const ended = await client.createWorkflow(oneStep("ended"), "", "team-d");
  await client.cancelWorkflow(ended.workflowId);
  assert.equal((await client.getEngineMetrics(["team-d"])).cancelledWorkflows, 1n);
  assert.equal((await client.pruneWorkflows(0, true, ["team-d"])).workflows, 1n);
  assert.equal((await client.pruneWorkflows(0, false, ["team-d"])).workflows, 1n);
  assert.equal((await client.listWorkflows(0, "", [], ["team-d"])).workflows.length, 0);
});

test("watchEvents with namespaces sees only those namespaces' workflows", async () => {
  const made = { "team-a": new Set(), "team-b": new Set() };
  const events = client.watchEvents([EventType.WORKFLOW_CANCELLED], [], ["team-a"])[Symbol.asyncIterator]();
  let first;
  const next = events.next().then((r) => (first = r.value));
  try {
    // The stream is live only: end a team-b and then a team-a workflow until the watch sees one.
    await waitFor(async () => {
      for (const ns of ["team-b", "team-a"]) {
        const created = await client.createWorkflow(oneStep(ns), "", ns);
        made[ns].add(created.workflowId);
        await client.cancelWorkflow(created.workflowId);
      }
      return first !== undefined;
    }, "an event of team-a");
    await next;
    assert.ok(made["team-a"].has(first.workflowId));
  } finally {
    await events.return();
  }
});

test("an agent with a namespace takes only that namespace's steps", async () => {
  const agentA = namespaceAgent("ns-node-a", "team-a");
  assert.equal(agentA.namespace, "team-a");
  const agents = [agentA];
  const runs = [(await start(agentA)).run];
  try {
    assert.equal(agentA.servedNamespace, "team-a");
    const [view] = await client.listAgents(["team-a"]).then((all) => all.filter((x) => x.connected));
    assert.deepEqual([view.agentId, view.namespace], ["ns-node-a", "team-a"]);
    const b = await client.createWorkflow(oneStep("b"), "", "team-b");
    await client.startWorkflow(b.workflowId); // ready first, with the capability agentA has
    const a = await client.createWorkflow(oneStep("a"), "", "team-a");
    assert.equal((await toEnd(a.workflowId)).at(-1).type, EventType.WORKFLOW_COMPLETED);
    const status = await client.getWorkflowStatus(b.workflowId);
    assert.equal(status.state, WorkflowState.RUNNING);
    assert.deepEqual([status.steps[0].agentId, status.steps[0].attempts], ["", 0]);
    assert.equal(status.steps[0].state, StepState.READY);

    const agentB = namespaceAgent("ns-node-b", "team-b");
    agents.push(agentB);
    runs.push((await start(agentB)).run);
    assert.equal((await toEnd(b.workflowId, true)).at(-1).type, EventType.WORKFLOW_COMPLETED);
    assert.equal((await client.getWorkflowStatus(b.workflowId)).steps[0].agentId, "ns-node-b");
  } finally {
    agents.forEach((agent) => agent.stop());
    await Promise.allSettled(runs);
  }
});

test.after(() => client.close());
