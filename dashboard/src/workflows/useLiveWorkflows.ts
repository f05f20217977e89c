// The live list: the first page from GET /api/v1/workflows, then workflow-level events
// from the SSE stream applied in place, one batch per animation frame. The list is
// never fetched again: a new run's first event carries its name and namespace.
import { useCallback, useEffect, useRef, useState } from "react";
import { listWorkflows, type WorkflowQuery } from "../api/client";
import { subscribe, type StreamState } from "../api/events";
import type { WorkflowEvent } from "../api/types";
import { applyEvents, mergeListed, WORKFLOW_EVENTS, type Rows } from "./rows";

const PAGE = 200;

export interface LiveWorkflows {
  rows: Rows;
  loading: boolean;
  error: string;
  stream: StreamState;
  more: boolean;
  loadMore: () => void;
}

export function useLiveWorkflows(query: WorkflowQuery): LiveWorkflows {
  const [rows, setRows] = useState<Rows>(new Map());
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [stream, setStream] = useState<StreamState>("connecting");
  const [nextToken, setNextToken] = useState("");
  const key = JSON.stringify(query);
  const queryRef = useRef(query);
  queryRef.current = query;

  useEffect(() => {
    const q = queryRef.current;
    let live = true;
    let listed = false;
    let held: WorkflowEvent[] = [];
    const namespace = q.namespace ?? "";
    setRows(new Map());
    setLoading(true);
    setError("");

    const apply = (events: WorkflowEvent[]) => {
      // Events that arrive before the first page are held and applied after it, in
      // order, so a state never goes back.
      if (!listed) {
        held = held.concat(events);
        return;
      }
      setRows((r) => applyEvents(r, events, namespace));
    };
    // Subscribe first, then list: nothing that happens in between is lost.
    const close = subscribe(
      { types: WORKFLOW_EVENTS, namespace: q.namespace },
      { onEvents: apply, onState: (s) => live && setStream(s) },
    );
    listWorkflows({ ...q, pageSize: PAGE }).then(
      (page) => {
        if (!live) return;
        listed = true;
        setRows((r) => applyEvents(mergeListed(r, page.workflows ?? []), held, namespace));
        held = [];
        setNextToken(page.nextPageToken ?? "");
        setLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        listed = true;
        setError(e.message);
        setLoading(false);
      },
    );
    return () => {
      live = false;
      close();
    };
  }, [key]);

  const loadMore = useCallback(() => {
    if (!nextToken) return;
    listWorkflows({ ...queryRef.current, pageSize: PAGE, pageToken: nextToken }).then(
      (page) => {
        setRows((r) => mergeListed(r, page.workflows ?? []));
        setNextToken(page.nextPageToken ?? "");
      },
      (e: Error) => setError(e.message),
    );
  }, [nextToken]);

  return { rows, loading, error, stream, more: Boolean(nextToken), loadMore };
}
