// The conformance suite's Node.js agent (tests/conformance/ runs it as a subprocess).
// It implements the same scenario handlers as tests/conformance/agent_py.py, chosen by
// capability name: "diamond.node" runs the "diamond" handler (the part after the dot
// only routes a step to one language). Environment: DWE_TARGET, CONF_AGENT_ID,
// CONF_CAPS (comma-separated), CONF_MAX. Observations go to stdout as "OBS {json}".
import { existsSync } from "node:fs";
import { Agent, NonRetryableError } from "../dist/index.js";

const LANG = "node";
const LIMIT_MS = 60_000;
const obs = (what, fields) => console.log(`OBS ${JSON.stringify({ obs: what, lang: LANG, ...fields })}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Flaky extends Error {}

/** Resolves once `predicate()` holds (polled), rejects with the signal's reason. */
async function until(predicate, signal) {
  const deadline = Date.now() + LIMIT_MS;
  while (!predicate()) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

const handlers = {
  diamond: async (task) => ({
    step: task.stepId,
    lang: LANG,
    sum: 1 + Object.values(task.inputs).reduce((t, v) => t + v.sum, 0),
    upstream: Object.fromEntries(Object.entries(task.inputs).map(([k, v]) => [k, v.lang])),
    account: task.context.account ?? null,
  }),
  flaky: async (task) => {
    if (task.attempt < 3) throw new Flaky(`attempt ${task.attempt} fails`);
    return { attempt: task.attempt, lang: LANG };
  },
  fatal: async () => {
    throw new NonRetryableError("bad input");
  },
  wait: (task) => new Promise((resolve, reject) => {
    obs("waiting", { step: task.stepId, attempt: task.attempt });
    const timer = setTimeout(() => resolve("never aborted"), LIMIT_MS);
    task.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      obs("aborted", { step: task.stepId, attempt: task.attempt, kind: task.signal.reason.kind });
      reject(task.signal.reason);
    });
  }),
  quick: async (task) => ({ step: task.stepId, lang: LANG, pid: process.pid }),
  source: async (task) => {
    for (let i = 0; i < (task.context.records ?? 5); i++) await task.emit(i);
    return null;
  },
  double: async (task) => Object.values(task.inputs)[0] * 2,
  hold: async (task) => {
    await task.stream("before");
    obs("holding", { step: task.stepId, attempt: task.attempt });
    try {
      await until(() => existsSync(task.context.release), task.signal);
    } catch (err) {
      if (task.signal.aborted) obs("aborted", { step: task.stepId, attempt: task.attempt, kind: task.signal.reason.kind });
      throw err;
    }
    await task.stream("after");
    return { held: true, lang: LANG };
  },
  big: async (task) => {
    const text = "x".repeat(task.context.size - 2); // JSON adds the two quotes
    if (!task.context.emit) return text;
    await task.emit(text); // a progress payload of exactly that size
    return "emitted";
  },
};

const agent = new Agent({
  agentId: process.env.CONF_AGENT_ID,
  maxConcurrentTasks: Number(process.env.CONF_MAX || "1"),
  labels: { lang: LANG },
});
for (const cap of process.env.CONF_CAPS.split(",")) {
  const fn = handlers[cap.split(".")[0]];
  if (!fn) throw new Error(`no conformance handler for ${cap}`);
  agent.handler(cap, fn);
}
agent.on("connected", (session) => obs("connected", { session }));
agent.on("drain", (reason) => obs("drain", { reason }));
process.once("SIGTERM", () => agent.stop());
process.once("SIGINT", () => agent.stop());
await agent.run(process.env.DWE_TARGET);
