// The SSE stream of workflow events (GET /api/v1/events). EventSource reconnects by
// itself and sends Last-Event-ID (the event position), which the server resumes from
// with no gap and no repeat; it cannot send headers, so the token rides in the query.
// Events come as the committed protobuf bytes (format=proto) and are turned into their
// proto3 JSON here: the browser does that work, not the server, for every dashboard.
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { WorkflowEventSchema } from "../gen/dwe/v1/workflow_pb";
import { getInfo } from "./client";
import { requireToken, token } from "./auth";
import type { EventType, WorkflowEvent } from "./types";
import { FrameBatch } from "../lib/frameBatch";

export interface EventFilter {
  workflowId?: string;
  types?: EventType[];
  namespace?: string;
  /** Replay stored events after this position first ("0": from the beginning). */
  afterPosition?: string;
}

export type StreamState = "connecting" | "live" | "retrying" | "closed";

export interface EventHandlers {
  /** Events of one animation frame, in stream order. */
  onEvents: (events: WorkflowEvent[]) => void;
  onState?: (state: StreamState) => void;
}

export function eventsUrl(filter: EventFilter): string {
  const params = new URLSearchParams();
  if (filter.workflowId) params.set("workflowId", filter.workflowId);
  for (const type of filter.types ?? []) params.append("type", type);
  if (filter.namespace) params.set("namespace", filter.namespace);
  if (filter.afterPosition !== undefined) params.set("afterPosition", filter.afterPosition);
  params.set("format", "proto");
  const bearer = token();
  if (bearer) params.set("access_token", bearer);
  return `/api/v1/events?${params}`;
}

/** One event from its base64 protobuf bytes, as the proto3 JSON the pages read. */
export function decode(data: string): WorkflowEvent {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const event = fromBinary(WorkflowEventSchema, bytes);
  return toJson(WorkflowEventSchema, event, { alwaysEmitImplicit: true }) as unknown as WorkflowEvent;
}

/** Opens the stream; returns the function that closes it. */
export function subscribe(filter: EventFilter, handlers: EventHandlers): () => void {
  const batch = new FrameBatch<WorkflowEvent>(handlers.onEvents);
  const source = new EventSource(eventsUrl(filter));
  handlers.onState?.("connecting");
  source.onopen = () => handlers.onState?.("live");
  source.onmessage = (message: MessageEvent<string>) => {
    try {
      batch.push(decode(message.data));
    } catch {
      // A message that is not an event (a comment or keep-alive): nothing to show.
    }
  };
  source.onerror = (event: Event) => {
    // The server ends a stream it cannot go on with by an "error" event whose data is
    // the API's error body; EventSource then reconnects after Last-Event-ID.
    if (event instanceof MessageEvent && typeof event.data === "string" && event.data.includes('"UNAUTHENTICATED"')) {
      requireToken();
    }
    if (source.readyState === EventSource.CLOSED) {
      handlers.onState?.("closed");
      // EventSource hides the HTTP status of a refused stream; ask a plain call,
      // which opens the token prompt when the answer is 401.
      getInfo().catch(() => undefined);
    } else {
      handlers.onState?.("retrying");
    }
  };
  return () => {
    source.close();
    batch.dispose();
  };
}
