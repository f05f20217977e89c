// The live list's rows and how workflow-level events change them. Pure functions over an
// immutable Map, so a frame's batch of events makes one new Map and one render, and rows
// that did not change keep their identity (their memoised components skip the render).
import type { EventType, WorkflowEvent, WorkflowState, WorkflowSummary } from "../api/types";

export interface Row {
  id: string;
  name: string;
  /** From the list, or from the run's WorkflowStarted/WorkflowQueued event. */
  namespace: string;
  state: WorkflowState;
  totalSteps: number;
  completedSteps: number;
  createdAt: number;
  finishedAt: number;
}

export type Rows = ReadonlyMap<string, Row>;

/** The event types the list follows: workflow-level only, never a step's. */
export const WORKFLOW_EVENTS: EventType[] = [
  "EVENT_TYPE_WORKFLOW_QUEUED",
  "EVENT_TYPE_WORKFLOW_STARTED",
  "EVENT_TYPE_WORKFLOW_COMPLETED",
  "EVENT_TYPE_WORKFLOW_FAILED",
  "EVENT_TYPE_WORKFLOW_CANCELLED",
  "EVENT_TYPE_WORKFLOW_TIMED_OUT",
];

const ENDED: Partial<Record<EventType, WorkflowState>> = {
  EVENT_TYPE_WORKFLOW_COMPLETED: "WORKFLOW_STATE_COMPLETED",
  EVENT_TYPE_WORKFLOW_FAILED: "WORKFLOW_STATE_FAILED",
  EVENT_TYPE_WORKFLOW_CANCELLED: "WORKFLOW_STATE_CANCELLED",
  EVENT_TYPE_WORKFLOW_TIMED_OUT: "WORKFLOW_STATE_TIMED_OUT",
};

export function fromSummary(s: WorkflowSummary): Row {
  return {
    id: s.workflowId,
    name: s.name ?? "",
    namespace: s.namespace || "default",
    state: s.state ?? "WORKFLOW_STATE_UNSPECIFIED",
    totalSteps: s.totalSteps ?? 0,
    completedSteps: s.completedSteps ?? 0,
    createdAt: s.createdAt ? Date.parse(s.createdAt) : 0,
    finishedAt: s.finishedAt ? Date.parse(s.finishedAt) : 0,
  };
}

/** Adds listed rows; a row already known keeps the state its events gave it. */
export function mergeListed(rows: Rows, listed: WorkflowSummary[]): Map<string, Row> {
  const next = new Map(rows);
  for (const summary of listed) {
    const row = fromSummary(summary);
    const known = next.get(row.id);
    next.set(row.id, known ? { ...known, namespace: row.namespace, createdAt: row.createdAt } : row);
  }
  return next;
}

/** Applies one frame's events; returns the same Map when nothing changed. */
export function applyEvents(rows: Rows, events: WorkflowEvent[], namespace: string): Rows {
  let next: Map<string, Row> | undefined;
  for (const event of events) {
    const current = (next ?? rows).get(event.workflowId);
    const row = applyEvent(current, event, namespace);
    if (row === current || !row) continue;
    next ??= new Map(rows);
    next.set(row.id, row);
  }
  return next ?? rows;
}

function applyEvent(row: Row | undefined, event: WorkflowEvent, namespace: string): Row | undefined {
  const time = event.time ? Date.parse(event.time) : Date.now();
  const opened = event.workflowStarted ?? event.workflowQueued;
  const base: Row = row ?? {
    id: event.workflowId,
    name: opened?.name ?? "",
    namespace: opened?.namespace || namespace,
    state: "WORKFLOW_STATE_PENDING",
    totalSteps: opened?.totalSteps ?? 0,
    completedSteps: 0,
    createdAt: time,
    finishedAt: 0,
  };
  const ended = event.type ? ENDED[event.type] : undefined;
  if (ended) {
    const summary = (event.workflowCompleted ?? event.workflowFailed ?? event.workflowCancelled
      ?? event.workflowTimedOut)?.summary;
    return {
      ...base,
      state: ended,
      finishedAt: time,
      completedSteps: summary?.completedSteps ?? base.completedSteps,
      totalSteps: summary?.totalSteps || base.totalSteps,
    };
  }
  if (event.type === "EVENT_TYPE_WORKFLOW_STARTED" || event.type === "EVENT_TYPE_WORKFLOW_QUEUED") {
    const state = event.type === "EVENT_TYPE_WORKFLOW_STARTED" ? "WORKFLOW_STATE_RUNNING" : "WORKFLOW_STATE_QUEUED";
    if (row && row.state === state) return row;
    return {
      ...base,
      state,
      name: base.name || opened?.name || "",
      namespace: base.namespace || opened?.namespace || "",
      totalSteps: base.totalSteps || opened?.totalSteps || 0,
    };
  }
  return row;
}

export interface RowFilter {
  states: WorkflowState[];
  name: string;
  namespace: string;
  since: number;
}

/** The same filter the server applied to the list, for rows that events brought in. */
export function matches(row: Row, f: RowFilter): boolean {
  if (f.states.length && !f.states.includes(row.state)) return false;
  if (f.name && !row.name.startsWith(f.name)) return false;
  if (f.namespace && row.namespace && row.namespace !== f.namespace) return false;
  return !f.since || row.createdAt >= f.since;
}

/** Newest first, as the server lists them. */
export function sorted(rows: Rows, f: RowFilter): Row[] {
  const out: Row[] = [];
  for (const row of rows.values()) if (matches(row, f)) out.push(row);
  return out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}
