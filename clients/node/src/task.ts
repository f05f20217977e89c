// The Task a handler receives: one step attempt, its data, its signal and its stream.
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { PayloadTooLarge, tooLargeMessage } from "./errors.js";
import { type Assignment, StepProgressSchema } from "./gen/dwe/v1/agent_pb.js";
import { PayloadSchema } from "./gen/dwe/v1/common_pb.js";
import type { Outbox } from "./outbox.js";
import { JSON_ENCODING, fromJson, jsonBytes } from "./payload.js";

/** Why a task's signal fired: `signal.reason` is one of these errors. */
export class TaskCancelled extends Error {
  constructor(readonly kind: "cancelled" | "deadline" | "shutdown", message: string) {
    super(message);
    this.name = "TaskCancelled";
  }
}

export class Task {
  readonly attemptId: string;
  readonly workflowId: string;
  readonly stepId: string;
  readonly stepName: string;
  readonly description: string;
  readonly capability: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** The registry config for this agent, from Welcome ({} if none). */
  readonly config: Record<string, unknown>;
  readonly agentId: string;
  /** When the server fails the attempt, or undefined when unbounded. */
  readonly deadline: Date | undefined;
  /** Fires on the server's Cancel, at the attempt's deadline, or when the agent shuts down. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly outbox: Outbox;
  private contextValue: Record<string, unknown> | undefined;
  private inputsValue: Record<string, unknown> | undefined;
  private sent = 0n;
  readonly startedAt = Date.now();

  constructor(readonly assignment: Assignment, outbox: Outbox, config: Record<string, unknown>, agentId: string) {
    this.attemptId = assignment.attemptId;
    this.workflowId = assignment.workflowId;
    this.stepId = assignment.stepId;
    this.stepName = assignment.stepName;
    this.description = assignment.description;
    this.capability = assignment.capability;
    this.attempt = assignment.attempt;
    this.config = config;
    this.agentId = agentId;
    this.deadline = assignment.deadline ? timestampDate(assignment.deadline) : undefined;
    this.signal = this.controller.signal;
    this.outbox = outbox;
  }

  /** The workflow's effective context, decoded ({} when empty). */
  get context(): Record<string, unknown> {
    this.contextValue ??= fromJson<Record<string, unknown>>(this.assignment.context, {}) ?? {};
    return this.contextValue;
  }

  /** Dependency outputs by step id, decoded (null when empty). */
  get inputs(): Record<string, unknown> {
    if (this.inputsValue === undefined) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(this.assignment.inputs)) out[k] = fromJson(v);
      this.inputsValue = out;
    }
    return this.inputsValue;
  }

  /** True once the signal fired. */
  get cancelled(): boolean {
    return this.signal.aborted;
  }

  /** The kind of the abort ("cancelled", "deadline", "shutdown"), if the signal fired. */
  get abortKind(): TaskCancelled["kind"] | undefined {
    const reason: unknown = this.signal.reason;
    return reason instanceof TaskCancelled ? reason.kind : undefined;
  }

  /** Fire the signal (the SDK calls this); false when it already fired. */
  abort(kind: TaskCancelled["kind"], message: string): boolean {
    if (this.signal.aborted) return false;
    this.controller.abort(new TaskCancelled(kind, message));
    return true;
  }

  /**
   * Send progress to watchers (an agent_stream event). Numbered, kept until the server
   * acknowledges it and resent after a reconnect. Throws PayloadTooLarge over the limit.
   */
  stream(content: string, data?: unknown): Promise<void> {
    this.progress(content, data, data !== undefined);
    return this.outbox.waitProgressRoom();
  }

  /** Emit one JSON-able record on the stream (pipeline mode reads these). */
  emit(record: unknown): Promise<void> {
    this.progress("", record, true);
    return this.outbox.waitProgressRoom();
  }

  private progress(content: string, data: unknown, hasData: boolean): void {
    const bytes = hasData ? jsonBytes(data) : undefined;
    // The server counts the content's characters plus the data's bytes.
    const size = [...content].length + (bytes?.length ?? 0);
    const limit = this.outbox.maxPayload;
    if (limit && size > limit) throw new PayloadTooLarge(tooLargeMessage("progress", size, limit));
    this.sent += 1n;
    this.outbox.addProgress(create(StepProgressSchema, {
      attemptId: this.attemptId,
      content,
      data: bytes && create(PayloadSchema, { encoding: JSON_ENCODING, data: bytes }),
      index: this.sent,
    }));
  }
}
