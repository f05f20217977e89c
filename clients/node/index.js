// Node.js client of dwe: the WorkflowService and EngineService over gRPC.
//
// Messages are plain objects with the proto field names (snake_case); enums
// are their names ("EXECUTION_MODE_PARALLEL"); Payloads carry JSON in a Buffer
// (use json() / fromJson()). Event streams are async iterators of single
// WorkflowEvent objects (the server's batches are flattened); `event.detail`
// names the one detail field that is set ("step_assigned", "workflow_completed").
import { fileURLToPath } from "node:url";
import path from "node:path";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
// The contract lives at the repository's protos/ (or next to an installed copy).
const PROTO_ROOT = process.env.DWE_PROTO_ROOT || path.resolve(here, "../../protos");

const definition = protoLoader.loadSync("dwe/v1/service.proto", {
  includeDirs: [PROTO_ROOT],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const dwe = grpc.loadPackageDefinition(definition).dwe.v1;

export const TERMINAL_EVENTS = new Set([
  "EVENT_TYPE_WORKFLOW_COMPLETED",
  "EVENT_TYPE_WORKFLOW_FAILED",
  "EVENT_TYPE_WORKFLOW_CANCELLED",
  "EVENT_TYPE_WORKFLOW_TIMED_OUT",
]);

/** A json/plain Payload holding `value`. */
export function json(value) {
  return { encoding: "json/plain", data: Buffer.from(JSON.stringify(value)) };
}

/** The value of a json/plain Payload (null when empty). */
export function fromJson(payload) {
  if (!payload || !payload.data || payload.data.length === 0) return null;
  return JSON.parse(Buffer.from(payload.data).toString("utf8"));
}

/** A gRPC failure with the status code name, e.g. "INVALID_ARGUMENT". */
export class DweError extends Error {
  constructor(err) {
    super(err.details || err.message);
    this.code = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) || "UNKNOWN";
    this.details = err.details || err.message;
  }
}

function unary(stub, method, request) {
  return new Promise((resolve, reject) => {
    stub[method](request, (err, response) => (err ? reject(new DweError(err)) : resolve(response)));
  });
}

async function* events(call) {
  try {
    for await (const response of call) {
      for (const event of response.events) yield event;
    }
  } catch (err) {
    throw new DweError(err);
  } finally {
    call.cancel();
  }
}

export class DweClient {
  /** @param {string} target e.g. "127.0.0.1:50051" */
  constructor(target = process.env.DWE_TARGET || "127.0.0.1:50051") {
    const creds = grpc.credentials.createInsecure();
    // Unbounded: the server never sends more than its --max-message-bytes
    // (see serverInfo()), which may be above grpc-js's 4 MiB default.
    const options = { "grpc.max_receive_message_length": -1 };
    this.workflows = new dwe.WorkflowService(target, creds, options);
    this.engine = new dwe.EngineService(target, creds, options);
  }

  close() {
    this.workflows.close();
    this.engine.close();
  }

  /**
   * Validates and stores a workflow. Steps may name their capability as in the
   * contract (`capability`) or as in the guide (`agent_capability`).
   */
  createWorkflow(spec, requestId = "") {
    const steps = (spec.steps || []).map(({ agent_capability, ...step }) => ({
      ...step,
      capability: step.capability || agent_capability,
    }));
    return unary(this.workflows, "CreateWorkflow", { spec: { ...spec, steps }, request_id: requestId });
  }

  startWorkflow(workflowId, context = undefined, sessionId = "") {
    return unary(this.workflows, "StartWorkflow", {
      workflow_id: workflowId, context: context && json(context), session_id: sessionId,
    });
  }

  /** Starts the workflow and yields its events to the terminal one. */
  executeWorkflow(workflowId, context = undefined, sessionId = "") {
    return events(this.workflows.ExecuteWorkflow({
      workflow_id: workflowId, context: context && json(context), session_id: sessionId,
    }));
  }

  watchWorkflow(workflowId, afterSeq = 0) {
    return events(this.workflows.WatchWorkflow({ workflow_id: workflowId, after_seq: afterSeq }));
  }

  watchEvents(types = [], workflowIds = []) {
    return events(this.workflows.WatchEvents({ types, workflow_ids: workflowIds }));
  }

  async getWorkflowStatus(workflowId) {
    return (await unary(this.workflows, "GetWorkflowStatus", { workflow_id: workflowId })).status;
  }

  listWorkflows(pageSize = 0, pageToken = "", states = []) {
    return unary(this.workflows, "ListWorkflows", { page_size: pageSize, page_token: pageToken, states });
  }

  cancelWorkflow(workflowId, reason = "") {
    return unary(this.workflows, "CancelWorkflow", { workflow_id: workflowId, reason });
  }

  async analyzeIntent(message) {
    return (await unary(this.workflows, "AnalyzeIntent", { message })).intent;
  }

  startIntent(message, context = undefined, sessionId = "") {
    return unary(this.workflows, "StartIntent", {
      message, context: context && json(context), session_id: sessionId,
    });
  }

  async registerAgent(agent) {
    return (await unary(this.engine, "RegisterAgent", { agent })).agent;
  }

  async listAgents() {
    return (await unary(this.engine, "ListAgents", {})).agents;
  }

  async getEngineMetrics() {
    return (await unary(this.engine, "GetEngineMetrics", {})).metrics;
  }

  /** The server's version and limits: max_message_bytes, max_payload_bytes, heartbeat_interval. */
  serverInfo() {
    return unary(this.engine, "GetServerInfo", {});
  }

  /**
   * Deletes the workflows that ended more than `olderThanSeconds` ago, with their
   * steps and events; with `dryRun`, only counts them. Resolves to
   * `{ workflows, events }`.
   */
  pruneWorkflows(olderThanSeconds, dryRun = false) {
    const seconds = Math.floor(olderThanSeconds);
    const nanos = Math.round((olderThanSeconds - seconds) * 1e9);
    return unary(this.engine, "PruneWorkflows", {
      older_than: { seconds, nanos }, dry_run: dryRun,
    });
  }
}
