// The Agent: handler registry, reconnect loop, dispatch of assignments to handlers,
// results (the Python SDK's Agent + Executor, with the same semantics).
import { EventEmitter } from "node:events";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { AgentConfigError, DweError, NonRetryableError, tooLargeMessage } from "./errors.js";
import { type Assignment, HelloSchema, StepResultSchema, type Welcome } from "./gen/dwe/v1/agent_pb.js";
import { ErrorInfoSchema, PayloadSchema } from "./gen/dwe/v1/common_pb.js";
import { Outbox } from "./outbox.js";
import { JSON_ENCODING, fromJson, jsonBytes } from "./payload.js";
import { bearer, newClient } from "./rpc.js";
import { Session, type SessionEnd, type SessionHost } from "./session.js";
import { Task } from "./task.js";
import { configureTelemetry, endHandlerSpan, flushTelemetry, startHandlerSpan } from "./telemetry.js";

export const SDK_NAME = "dwe-node/0.2.0";

/** A handler: takes the Task, returns (or resolves to) a JSON-able output. */
export type HandlerFn = (task: Task) => unknown;

/** gRPC codes no reconnect can fix: `run()` rejects with them. ALREADY_EXISTS is retried. */
const FATAL = new Set(["INVALID_ARGUMENT", "UNIMPLEMENTED", "UNAUTHENTICATED", "PERMISSION_DENIED"]);
/** A session that stayed up longer than this resets the backoff. */
const STABLE_AFTER_MS = 10_000;

export interface AgentOptions {
  /** Stable identity across reconnects; the registry key. */
  agentId: string;
  /** Matched against a step's agent_type for routing preference. */
  agentType?: string;
  /** Announced in Hello; default: the capabilities with handlers. */
  capabilities?: string[];
  /** Attempts run at once (default 1). */
  maxConcurrentTasks?: number;
  labels?: Record<string, string>;
  /** How long stop() waits for running handlers before aborting them (default 30 s; null: forever). */
  gracefulTimeoutMs?: number | null;
  /** First reconnect delay (default 100 ms), doubled per failure up to reconnectCapMs (5 s), ±20 %. */
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  channelOptions?: grpc.ChannelOptions;
  /** Channel credentials (default: TLS from DWE_TLS_CA/DWE_TLS_CERT/DWE_TLS_KEY when set,
   * else plaintext); see tlsCredentials(). */
  credentials?: grpc.ChannelCredentials;
  /** Bearer token (an agent token from `dwe token create`) for a server with auth on;
   * default $DWE_TOKEN. */
  token?: string;
  /** The namespace whose steps the agent takes, sent in Hello; default $DWE_NAMESPACE; empty:
   * the server picks (the agent's registry entry's namespace, else the token's first, else
   * "default"). */
  namespace?: string;
  /** Where the agent logs (default: console, debug lines only with DWE_DEBUG set). */
  logger?: Pick<Console, "info" | "warn" | "error" | "debug">;
}

export interface RunOptions {
  /** Handle SIGINT/SIGTERM while running: the first stops gracefully, a second aborts handlers. */
  handleSignals?: boolean;
}

interface Running {
  task: Task;
  deadline?: NodeJS.Timeout;
}

/**
 * A process that runs workflow steps for a dwe server. Events: "connected"
 * (session id), "drain" (the server's reason: it is stopping), "disconnected".
 */
export class Agent extends EventEmitter implements SessionHost {
  readonly agentId: string;
  readonly agentType: string;
  readonly maxConcurrentTasks: number;
  readonly labels: Record<string, string>;
  /** True while a session is established (after Welcome). */
  connected = false;
  /** The current (or last) session's id. */
  sessionId: string | undefined;
  /** The namespace the current (or last) session serves (from Welcome). */
  servedNamespace: string | undefined;
  readonly outbox = new Outbox();
  private readonly opts: AgentOptions;
  private readonly handlers = new Map<string, HandlerFn>();
  private readonly running = new Map<string, Running>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly log: NonNullable<AgentOptions["logger"]>;
  private config: Record<string, unknown> = {};
  private accepting = true;
  private serving = false;
  private stopRequested = false;
  private stopWake: (() => void) | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private session: Session | undefined;
  private failures = 0;
  private connectedAt: number | undefined;

  constructor(opts: AgentOptions) {
    super();
    if (!opts.agentId) throw new AgentConfigError("agentId must not be empty");
    const max = opts.maxConcurrentTasks ?? 1;
    if (!Number.isInteger(max) || max < 1) throw new AgentConfigError("maxConcurrentTasks must be at least 1");
    this.opts = opts;
    this.agentId = opts.agentId;
    this.agentType = opts.agentType ?? "";
    this.maxConcurrentTasks = max;
    this.labels = { ...(opts.labels ?? {}) };
    const quiet = () => {};
    this.log = opts.logger ?? { ...console, debug: process.env.DWE_DEBUG ? console.debug : quiet };
    this.outbox.onReady = () => this.session?.poke();
  }

  /** Register the function that runs steps needing `capability`. */
  handler(capability: string, fn: HandlerFn): this {
    if (this.handlers.has(capability)) throw new AgentConfigError(`capability '${capability}' already has a handler`);
    this.handlers.set(capability, fn);
    return this;
  }

  /** Capabilities announced in Hello. */
  get capabilities(): string[] {
    return this.opts.capabilities ? [...this.opts.capabilities] : [...this.handlers.keys()];
  }

  /** The namespace asked for in Hello, as given (undefined: $DWE_NAMESPACE, else the server's choice). */
  get namespace(): string | undefined {
    return this.opts.namespace;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /**
   * Connect to `target` and run assignments until stop(). Reconnects with jittered
   * capped backoff; handlers keep running meanwhile and their results go out on the
   * next stream. Rejects with a DweError for codes no reconnect fixes.
   */
  async run(target: string, options: RunOptions = {}): Promise<void> {
    if (this.serving) throw new Error(`agent ${this.agentId} is already serving`);
    const caps = this.checkCapabilities();
    await configureTelemetry(); // OTEL_*: handler spans join the server's trace
    const detach = options.handleSignals ? this.attachSignals() : () => {};
    this.serving = true;
    this.stopRequested = false;
    this.accepting = true;
    let stopDeadline: number | undefined;
    try {
      while (!(this.stopRequested && this.running.size === 0 && this.outbox.size === 0)) {
        const end = await this.oneSession(target, caps);
        if (end === "stopped") return;
        if (this.stopRequested) {
          const pending = this.running.size + this.outbox.results.length;
          stopDeadline ??= Date.now() + (this.opts.gracefulTimeoutMs ?? 30_000) + this.capMs;
          if (pending === 0 || Date.now() >= stopDeadline) return;
        }
        await this.backoff();
      }
    } finally {
      detach();
      this.finishServing();
      await flushTelemetry();
    }
  }

  /** SIGINT/SIGTERM: the first stops gracefully, a second aborts running handlers. */
  private attachSignals(): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (!this.stopRequested) {
        this.log.info(`agent ${this.agentId}: ${signal} received, stopping`);
        return this.stop();
      }
      this.log.warn(`agent ${this.agentId}: second signal, aborting running handlers`);
      for (const r of this.running.values()) r.task.abort("shutdown", "agent shutting down");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
  }

  /** Stop gracefully: no new work, running handlers finish (up to gracefulTimeoutMs), results sent. */
  stop(): void {
    if (!this.serving || this.stopRequested) return;
    this.stopRequested = true;
    this.accepting = false;
    this.stopWake?.();
    const grace = this.opts.gracefulTimeoutMs === undefined ? 30_000 : this.opts.gracefulTimeoutMs;
    if (grace !== null) {
      this.graceTimer = setTimeout(() => {
        for (const r of this.running.values()) r.task.abort("shutdown", "agent shutting down");
      }, grace);
    }
    this.session?.close("stopped");
  }

  private get capMs(): number {
    return this.opts.reconnectCapMs ?? 5000;
  }

  private checkCapabilities(): string[] {
    const caps = this.capabilities;
    if (!caps.length) throw new AgentConfigError(`agent ${this.agentId} has no capabilities and no handlers`);
    const missing = caps.filter((c) => !this.handlers.has(c));
    if (missing.length) throw new AgentConfigError(`agent ${this.agentId}: no handler for ${missing.join(", ")}`);
    return caps;
  }

  private async oneSession(target: string, caps: string[]): Promise<SessionEnd | undefined> {
    const held = [...new Set([
      ...[...this.running.values()].filter((r) => !r.task.cancelled).map((r) => r.task.attemptId),
      ...this.outbox.resultIds(),
    ])];
    const hello = create(HelloSchema, {
      agentId: this.agentId, agentType: this.agentType, capabilities: caps,
      maxConcurrentTasks: this.maxConcurrentTasks, labels: this.labels, heldAttemptIds: held, sdk: SDK_NAME,
      namespace: this.opts.namespace ?? process.env.DWE_NAMESPACE ?? "",
    });
    const channel = newClient(target, this.opts.channelOptions, this.opts.credentials);
    this.session = new Session(this, channel, hello, bearer(this.opts.token));
    try {
      const end = await this.session.run();
      if (end === "closed") this.log.warn(`agent ${this.agentId}: server closed the stream; reconnecting`);
      if (end === "drained") this.log.info(`agent ${this.agentId}: drained by a stopping server; reconnecting`);
      return end;
    } catch (err) {
      if (err instanceof DweError && FATAL.has(err.code)) {
        this.log.error(`agent ${this.agentId} rejected by server: ${err.code} ${err.details}`);
        throw err;
      }
      const why = err instanceof DweError ? `${err.code} ${err.details}` : String(err);
      (this.failures === 0 ? this.log.warn : this.log.debug)(`agent ${this.agentId} stream to ${target} failed: ${why}`);
      return undefined;
    } finally {
      this.session = undefined;
      channel.close();
      if (this.connected) {
        this.connected = false;
        this.emit("disconnected");
      }
      if (!this.stopRequested) this.accepting = true; // a drained agent serves the next server
    }
  }

  private backoff(): Promise<void> {
    if (this.connectedAt !== undefined && Date.now() - this.connectedAt > STABLE_AFTER_MS) this.failures = 0;
    this.connectedAt = undefined;
    this.failures += 1;
    const base = this.opts.reconnectBaseMs ?? 100;
    const raw = base * 2 ** (this.failures - 1) * (1 + 0.2 * (2 * Math.random() - 1));
    const delay = Math.min(raw, this.capMs);
    this.log.debug(`agent ${this.agentId} reconnecting in ${Math.round(delay)} ms (attempt ${this.failures})`);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      const stopping = this.stopRequested; // while stopping, wait the delay out
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (!stopping) this.stopWake = done;
    }).finally(() => (this.stopWake = undefined));
  }

  private finishServing(): void {
    clearTimeout(this.graceTimer);
    for (const r of this.running.values()) r.task.abort("shutdown", "agent shutting down");
    this.serving = false;
    this.log.info(`agent ${this.agentId} stopped`);
  }

  // -- SessionHost ---------------------------------------------------------

  welcomed(welcome: Welcome): void {
    this.outbox.limit(welcome.maxMessageBytes, welcome.maxPayloadBytes);
    this.outbox.welcomed(welcome.resumedAttemptIds, welcome.resumedProgress);
    const config = fromJson<unknown>(welcome.config, {});
    this.config = config && typeof config === "object" && !Array.isArray(config)
      ? (config as Record<string, unknown>) : { value: config };
    if (welcome.droppedAttemptIds.length) {
      for (const id of welcome.droppedAttemptIds) this.cancel(id, "dropped by server");
      this.outbox.discard(new Set(welcome.droppedAttemptIds));
    }
    this.connected = true;
    this.connectedAt = Date.now();
    this.sessionId = welcome.sessionId;
    this.servedNamespace = welcome.namespace;
    this.log.info(`agent ${this.agentId} connected (session ${welcome.sessionId}, namespace ${welcome.namespace || "default"}, resumed=${welcome.resumedAttemptIds.length}, dropped=${welcome.droppedAttemptIds.length})`);
    this.emit("connected", welcome.sessionId);
  }

  closeGate(): void {
    this.accepting = false;
  }

  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  debug(message: string): void {
    this.log.debug(`agent ${this.agentId}: ${message}`);
  }

  rejected(attemptId: string, kind: string, reason: string): void {
    this.log.warn(`agent ${this.agentId}: server rejected ${kind} of attempt ${attemptId}: ${reason}`);
  }

  draining(reason: string): void {
    this.log.info(`agent ${this.agentId}: server drains the session (${reason}): finishing running handlers, then reconnecting`);
    this.emit("drain", reason);
  }

  cancel(attemptId: string, reason: string): void {
    const r = this.running.get(attemptId);
    if (r?.task.abort("cancelled", reason || "cancelled by the server")) {
      this.log.debug(`cancel attempt ${attemptId}: ${reason}`);
    }
  }

  dispatch(a: Assignment): void {
    if (!this.accepting) return; // unstarted: the server reassigns it when the stream closes
    if (this.running.has(a.attemptId)) return;
    const fn = this.handlers.get(a.capability);
    if (!fn) {
      this.log.warn(`no handler for capability '${a.capability}' (attempt ${a.attemptId})`);
      this.addError(a.attemptId, `agent ${this.agentId} has no handler for '${a.capability}'`, "UnknownCapability", true);
      return;
    }
    const task = new Task(a, this.outbox, this.config, this.agentId);
    const entry: Running = { task };
    if (task.deadline) {
      const ms = Math.max(0, task.deadline.getTime() - Date.now());
      if (ms < 2 ** 31 - 1) entry.deadline = setTimeout(() => task.abort("deadline", "the attempt's deadline passed"), ms);
    }
    this.running.set(a.attemptId, entry);
    this.outbox.addStarted(a.attemptId);
    void this.execute(entry, fn);
  }

  private async execute(entry: Running, fn: HandlerFn): Promise<void> {
    const task = entry.task;
    const span = startHandlerSpan(task, this.agentId);
    try {
      let value: unknown;
      try {
        value = await fn(task);
      } catch (err) {
        endHandlerSpan(span, task.abortKind ?? "failed", err);
        return this.failed(task, err);
      }
      endHandlerSpan(span, task.abortKind ?? "completed");
      if (task.abortKind === "cancelled") return this.ackCancel(task);
      this.completed(task, value);
    } finally {
      clearTimeout(entry.deadline);
      this.running.delete(task.attemptId);
      if (this.running.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private failed(task: Task, err: unknown): void {
    switch (task.abortKind) {
      case "cancelled":
        return this.ackCancel(task);
      case "deadline":
        return this.addError(task.attemptId, "the attempt's deadline passed", "Timeout", true, task);
      case "shutdown":
        return; // not finished: the server re-queues the attempt
    }
    const type = err instanceof Error ? err.constructor.name || err.name : "Error";
    const message = err instanceof Error ? err.message || type : String(err);
    this.addError(task.attemptId, message, type, !(err instanceof NonRetryableError), task);
  }

  private completed(task: Task, value: unknown): void {
    let data: Uint8Array;
    try {
      data = jsonBytes(value === undefined ? null : value);
    } catch (err) {
      return this.addError(task.attemptId, `handler output is not JSON-serialisable: ${String(err)}`, "TypeError", false);
    }
    const limit = this.outbox.maxPayload;
    if (limit && data.length > limit) {
      return this.addError(task.attemptId, tooLargeMessage("the handler's output", data.length, limit), "PayloadTooLarge", false);
    }
    this.outbox.addResult(create(StepResultSchema, {
      attemptId: task.attemptId,
      outcome: { case: "output", value: create(PayloadSchema, { encoding: JSON_ENCODING, data }) },
      duration: durationFromMs(Date.now() - task.startedAt),
    }));
  }

  /** Tells the server the cancelled handler ended, so it frees the slot. */
  private ackCancel(task: Task): void {
    this.addError(task.attemptId, "cancelled", "Cancelled", false);
  }

  private addError(attemptId: string, message: string, type: string, retryable: boolean, task?: Task): void {
    this.outbox.addResult(create(StepResultSchema, {
      attemptId,
      outcome: { case: "error", value: create(ErrorInfoSchema, { message, type, retryable }) },
      duration: task ? durationFromMs(Date.now() - task.startedAt) : undefined,
    }));
  }
}
