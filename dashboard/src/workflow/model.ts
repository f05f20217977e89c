// One workflow as the page shows it: its status (GET /api/v1/workflows/{id}) with the
// events of its SSE stream applied on top. The stream is opened from position 0, so the
// replay rebuilds what the status does not hold: every attempt with its agent and times,
// and the streamed output lines.
import type {
  ErrorInfo,
  EventType,
  Payload,
  StepState,
  StepStatus,
  WorkflowEvent,
  WorkflowState,
  WorkflowStatus,
} from "../api/types";
import { seconds } from "../lib/format";

export interface Attempt {
  attempt: number;
  agentId: string;
  /** ms since the epoch */
  start: number;
  end: number;
  outcome: "running" | "completed" | "failed";
  executionSeconds: number;
  error?: ErrorInfo;
}

export interface StepModel {
  stepId: string;
  name: string;
  state: StepState;
  capability: string;
  agentId: string;
  attempt: number;
  executionSeconds: number;
  dependencies: string[];
  output?: Payload;
  outputOmitted: boolean;
  error?: ErrorInfo;
  attempts: Attempt[];
  lines: string[];
}

export interface WorkflowModel {
  id: string;
  name: string;
  namespace: string;
  state: WorkflowState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  errorMessage: string;
  context?: Payload;
  /** In declaration order. */
  order: string[];
  steps: ReadonlyMap<string, StepModel>;
}

/** Streamed lines kept per step: the newest, so a chatty step cannot fill the tab. */
export const MAX_LINES = 500;

const ENDED: Partial<Record<EventType, WorkflowState>> = {
  EVENT_TYPE_WORKFLOW_COMPLETED: "WORKFLOW_STATE_COMPLETED",
  EVENT_TYPE_WORKFLOW_FAILED: "WORKFLOW_STATE_FAILED",
  EVENT_TYPE_WORKFLOW_CANCELLED: "WORKFLOW_STATE_CANCELLED",
  EVENT_TYPE_WORKFLOW_TIMED_OUT: "WORKFLOW_STATE_TIMED_OUT",
};

function stepFrom(s: StepStatus, known?: StepModel): StepModel {
  return {
    stepId: s.stepId,
    name: s.name ?? s.stepId,
    state: s.state ?? "STEP_STATE_PENDING",
    capability: s.capability ?? "",
    agentId: s.agentId ?? "",
    attempt: s.attempts ?? 0,
    executionSeconds: seconds(s.executionTime),
    dependencies: s.dependencies ?? [],
    output: s.output ?? known?.output,
    outputOmitted: s.outputOmitted ?? false,
    error: s.error,
    attempts: known?.attempts ?? [],
    lines: known?.lines ?? [],
  };
}

/** The model of a status; `known` keeps what only events told (attempts, lines). */
export function fromStatus(status: WorkflowStatus, known?: WorkflowModel): WorkflowModel {
  const steps = new Map<string, StepModel>();
  for (const s of status.steps ?? []) steps.set(s.stepId, stepFrom(s, known?.steps.get(s.stepId)));
  const time = (t?: string) => (t ? Date.parse(t) : 0);
  return {
    id: status.workflowId,
    name: status.name ?? "",
    namespace: status.namespace || "default",
    state: status.state ?? "WORKFLOW_STATE_UNSPECIFIED",
    createdAt: time(status.createdAt),
    startedAt: time(status.startedAt),
    finishedAt: time(status.finishedAt),
    errorMessage: status.errorMessage ?? "",
    context: known?.context,
    order: (status.steps ?? []).map((s) => s.stepId),
    steps,
  };
}

/** Applies one frame's events; steps they do not touch keep their identity. */
export function applyEvents(model: WorkflowModel, events: WorkflowEvent[]): WorkflowModel {
  let next: WorkflowModel = model;
  let steps: Map<string, StepModel> | undefined;
  for (const event of events) {
    const time = event.time ? Date.parse(event.time) : Date.now();
    const ended = event.type ? ENDED[event.type] : undefined;
    if (ended) {
      next = { ...next, state: ended, finishedAt: time };
      continue;
    }
    const opened = event.workflowStarted ?? event.workflowQueued;
    if (opened) {
      const running = event.type === "EVENT_TYPE_WORKFLOW_STARTED";
      next = {
        ...next,
        state: running ? "WORKFLOW_STATE_RUNNING" : "WORKFLOW_STATE_QUEUED",
        startedAt: running ? next.startedAt || time : next.startedAt,
        context: opened.context ?? next.context,
      };
      continue;
    }
    const current = (steps ?? next.steps).get(event.stepId ?? "");
    if (!current) continue;
    const updated = applyStepEvent(current, event, time);
    if (updated === current) continue;
    steps ??= new Map(next.steps);
    steps.set(updated.stepId, updated);
  }
  return steps ? { ...next, steps } : next;
}

function applyStepEvent(step: StepModel, event: WorkflowEvent, time: number): StepModel {
  const n = event.attempt ?? step.attempt;
  switch (event.type) {
    case "EVENT_TYPE_AGENT_STARTED": {
      // The assignment is the only event of an attempt's start, so the node shows the
      // step running from it (the status says ASSIGNED until the agent reports).
      const attempt: Attempt = {
        attempt: n,
        agentId: event.agentId ?? "",
        start: time,
        end: 0,
        outcome: "running",
        executionSeconds: 0,
      };
      const attempts = step.attempts.filter((a) => a.attempt !== n).concat(attempt);
      return { ...step, state: "STEP_STATE_RUNNING", agentId: attempt.agentId, attempt: n, attempts };
    }
    case "EVENT_TYPE_AGENT_STREAM": {
      const content = event.stepStreamed?.content ?? "";
      const lines = step.lines.length >= MAX_LINES ? step.lines.slice(1 - MAX_LINES) : step.lines.slice();
      lines.push(content);
      return { ...step, lines };
    }
    case "EVENT_TYPE_AGENT_COMPLETED": {
      const d = event.stepCompleted;
      const executionSeconds = seconds(d?.executionTime);
      return {
        ...step,
        state: "STEP_STATE_COMPLETED",
        output: d?.output ?? step.output,
        executionSeconds,
        error: undefined,
        attempts: endAttempt(step.attempts, n, time, "completed", executionSeconds),
      };
    }
    case "EVENT_TYPE_AGENT_ERROR": {
      const d = event.stepAttemptFailed;
      const executionSeconds = seconds(d?.executionTime);
      return {
        ...step,
        state: d?.willRetry ? "STEP_STATE_RETRY_WAIT" : "STEP_STATE_FAILED",
        error: d?.error,
        executionSeconds,
        attempts: endAttempt(step.attempts, n, time, "failed", executionSeconds, d?.error),
      };
    }
    case "EVENT_TYPE_AGENT_RETRYING":
      return { ...step, state: "STEP_STATE_RETRY_WAIT" };
    case "EVENT_TYPE_STEP_SKIPPED":
      return { ...step, state: "STEP_STATE_SKIPPED", error: event.stepSkipped?.error };
    default:
      return step;
  }
}

function endAttempt(
  attempts: Attempt[],
  n: number,
  end: number,
  outcome: Attempt["outcome"],
  executionSeconds: number,
  error?: ErrorInfo,
): Attempt[] {
  const found = attempts.some((a) => a.attempt === n);
  // An attempt whose start was not seen (pruned events) still gets a bar.
  const base: Attempt[] = found
    ? attempts
    : attempts.concat({ attempt: n, agentId: "", start: end - executionSeconds * 1000, end: 0, outcome, executionSeconds });
  return base.map((a) => (a.attempt === n ? { ...a, end, outcome, executionSeconds, error } : a));
}

/** A stable key of the DAG's shape, so the layout is computed again only when it changes. */
export function shapeKey(model: WorkflowModel): string {
  return model.order.map((id) => `${id}<${model.steps.get(id)?.dependencies.join(",") ?? ""}`).join("|");
}
