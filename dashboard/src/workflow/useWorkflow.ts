// A workflow kept live: its status, then every event of its stream from position 0
// applied once per animation frame. When the run ends the status is read once more,
// since the server's final word on each step (cancelled, skipped) is there.
import { useEffect, useState } from "react";
import { getWorkflow } from "../api/client";
import { subscribe, type StreamState } from "../api/events";
import type { WorkflowEvent } from "../api/types";
import { applyEvents, fromStatus, type WorkflowModel } from "./model";

const ENDS = new Set([
  "EVENT_TYPE_WORKFLOW_COMPLETED",
  "EVENT_TYPE_WORKFLOW_FAILED",
  "EVENT_TYPE_WORKFLOW_CANCELLED",
  "EVENT_TYPE_WORKFLOW_TIMED_OUT",
]);

export interface LiveWorkflow {
  model?: WorkflowModel;
  error: string;
  stream: StreamState;
}

export function useWorkflow(id: string): LiveWorkflow {
  const [model, setModel] = useState<WorkflowModel>();
  const [error, setError] = useState("");
  const [stream, setStream] = useState<StreamState>("connecting");

  useEffect(() => {
    let live = true;
    let held: WorkflowEvent[] | undefined = [];
    const reconcile = () =>
      getWorkflow(id).then(
        (r) => live && r.status && setModel((m) => fromStatus(r.status!, m)),
        () => undefined,
      );
    const apply = (events: WorkflowEvent[]) => {
      if (held) {
        held.push(...events);
        return;
      }
      setModel((m) => (m ? applyEvents(m, events) : m));
      if (events.some((e) => e.type && ENDS.has(e.type))) void reconcile();
    };
    getWorkflow(id).then(
      (r) => {
        if (!live || !r.status) return;
        const events = held ?? [];
        held = undefined;
        setModel(applyEvents(fromStatus(r.status), events));
        if (events.some((e) => e.type && ENDS.has(e.type))) void reconcile();
      },
      (e: Error) => live && setError(e.message),
    );
    const close = subscribe(
      { workflowId: id, afterPosition: "0" },
      { onEvents: apply, onState: (s) => live && setStream(s) },
    );
    return () => {
      live = false;
      close();
    };
  }, [id]);

  return { model, error, stream };
}
