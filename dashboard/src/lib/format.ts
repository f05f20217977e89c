// Formatting of the API's values for people: states, durations, times, payloads.
import type { Payload, StepState, WorkflowState } from "../api/types";

/** "WORKFLOW_STATE_RUNNING" → "RUNNING", "STEP_STATE_RETRY_WAIT" → "RETRY_WAIT". */
export function stateName(state: WorkflowState | StepState | undefined): string {
  if (!state) return "UNSPECIFIED";
  return state.replace(/^(WORKFLOW|STEP)_STATE_/, "");
}

const COLORS: Record<string, string> = {
  PENDING: "gray",
  READY: "indigo",
  QUEUED: "violet",
  ASSIGNED: "cyan",
  RUNNING: "blue",
  RETRY_WAIT: "orange",
  COMPLETED: "green",
  FAILED: "red",
  CANCELLED: "yellow",
  TIMED_OUT: "pink",
  SKIPPED: "gray",
};

/** The Mantine colour of a state name. */
export function stateColor(name: string): string {
  return COLORS[name] ?? "gray";
}

export const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT", "SKIPPED"]);

/** Seconds of a proto3 JSON Duration ("1.5s"); 0 when absent. */
export function seconds(duration: string | undefined): number {
  if (!duration) return 0;
  const value = Number.parseFloat(duration);
  return Number.isFinite(value) ? value : 0;
}

/** "850 ms", "12.3 s", "4m 05s", "2h 03m". */
export function formatSeconds(total: number): string {
  if (total < 1) return `${Math.round(total * 1000)} ms`;
  if (total < 60) return `${total.toFixed(1)} s`;
  const s = Math.floor(total % 60);
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m ${String(s).padStart(2, "0")}s`;
}

export function millis(time: string | undefined): number {
  return time ? Date.parse(time) : 0;
}

export function formatTime(time: string | undefined): string {
  if (!time) return "—";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString();
}

/** A payload for display: pretty JSON when it is json/plain, else its size. */
export function formatPayload(payload: Payload | undefined): string {
  if (!payload?.data) return "";
  const encoding = payload.encoding || "json/plain";
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(payload.data), (c) => c.charCodeAt(0));
  } catch {
    return payload.data;
  }
  if (encoding !== "json/plain") return `<${bytes.length} bytes, ${encoding}>`;
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
