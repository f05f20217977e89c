// One Connect stream: Hello/Welcome, a batching writer, the reader, heartbeats,
// and the orderly close after Drain or stop (the Python SDK's Session).
import { create } from "@bufbuild/protobuf";
import { durationMs, timestampNow } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { DweError } from "./errors.js";
import {
  type Assignment,
  type ConnectRequest,
  ConnectRequestSchema,
  type ConnectResponse,
  ConnectResponseSchema,
  type Hello,
  HeartbeatSchema,
  type Welcome,
} from "./gen/dwe/v1/agent_pb.js";
import { AgentService } from "./gen/dwe/v1/service_pb.js";
import type { Outbox } from "./outbox.js";
import { deserializer, path, serializer } from "./rpc.js";

export const DEFAULT_HEARTBEAT_MS = 5000;
/** How long to wait for the server to end the stream after we half-closed. */
const CLOSE_TIMEOUT_MS = 5000;

/** How a session ended without an error. */
export type SessionEnd = "stopped" | "drained" | "closed";

/** The stream ended before Welcome, or while we were closing it. */
export class SessionLost extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionLost";
  }
}

/** What a session needs from its agent. */
export interface SessionHost {
  readonly outbox: Outbox;
  readonly stopping: boolean;
  welcomed(welcome: Welcome): void;
  dispatch(assignment: Assignment): void;
  cancel(attemptId: string, reason: string): void;
  /** Stop taking new work (drained: only for this session). */
  closeGate(): void;
  /** Resolves once no handler runs. */
  idle(): Promise<void>;
  debug(message: string): void;
  /** The server refused a report (started, progress or result) about an attempt. */
  rejected(attemptId: string, kind: string, reason: string): void;
  /** The server sent Drain. */
  draining(reason: string): void;
}

export class Session {
  private call!: grpc.ClientDuplexStream<ConnectRequest, ConnectResponse>;
  private welcomed = false;
  private settled = false;
  private writing = false;
  private scheduled = false;
  private heartbeatDue = false;
  private halfClosed = false;
  private closing: SessionEnd | undefined;
  private lastSent = 0;
  private heartbeatMs = DEFAULT_HEARTBEAT_MS;
  private timer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private flushWaiters: (() => void)[] = [];
  private resolve!: (end: SessionEnd) => void;
  private reject!: (err: Error) => void;

  constructor(
    private readonly host: SessionHost,
    private readonly channel: grpc.Client,
    private readonly hello: Hello,
    private readonly metadata: grpc.Metadata = new grpc.Metadata(),
  ) {}

  /** Serve the stream until it ends; rejects with DweError or SessionLost on failure. */
  run(): Promise<SessionEnd> {
    const promise = new Promise<SessionEnd>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const m = AgentService.method.connect;
    this.call = this.channel.makeBidiStreamRequest(path(m), serializer(ConnectRequestSchema),
      deserializer(ConnectResponseSchema), this.metadata.clone());
    this.call.on("data", (msg: ConnectResponse) => this.onMessage(msg));
    this.call.on("error", (err: grpc.ServiceError) => this.finish(err));
    this.call.on("status", (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) this.finish(undefined);
    });
    this.call.write(create(ConnectRequestSchema, { hello: this.hello }));
    return promise;
  }

  /** Wake the writer: something was queued. */
  poke(): void {
    if (this.scheduled || !this.welcomed || this.settled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Stop taking work, let handlers finish, send everything, then half-close. */
  close(kind: SessionEnd): void {
    if (this.closing || this.settled || !this.welcomed) return;
    this.closing = kind;
    this.host.closeGate();
    void this.host.idle().then(() => this.flushed()).then(() => {
      if (this.settled) return;
      clearInterval(this.timer);
      this.halfClosed = true;
      this.call.end();
      this.closeTimer = setTimeout(() => this.finish(undefined), CLOSE_TIMEOUT_MS);
    });
  }

  private onMessage(msg: ConnectResponse): void {
    if (this.settled) return;
    if (!this.welcomed) {
      if (!msg.welcome) return this.finish(new SessionLost("the first message was not Welcome"));
      this.onWelcome(msg.welcome);
    }
    for (const a of msg.assignments) this.host.dispatch(a);
    for (const ack of msg.progressAcks) {
      if (ack.resend) this.host.outbox.resend(new Map([[ack.attemptId, ack.index]]));
      else this.host.outbox.acknowledge(ack.attemptId, ack.index);
    }
    for (const c of msg.cancels) this.host.cancel(c.attemptId, c.reason);
    for (const r of msg.rejections) this.host.rejected(r.attemptId, r.kind, r.reason);
    if (msg.drain) {
      this.host.draining(msg.drain.reason);
      this.close(this.host.stopping ? "stopped" : "drained");
    }
    // Fields this SDK does not know (a newer server) are kept in msg.$unknown by the
    // decoder and otherwise ignored.
    if (msg.$unknown?.length) this.host.debug(`ignored ${msg.$unknown.length} unknown field(s) from the server`);
  }

  private onWelcome(welcome: Welcome): void {
    this.welcomed = true;
    if (welcome.heartbeatInterval) {
      const ms = durationMs(welcome.heartbeatInterval);
      if (ms > 0) this.heartbeatMs = ms;
    }
    this.lastSent = performance.now();
    this.host.welcomed(welcome);
    // Beat a little early so timer delays never exceed the interval.
    const due = this.heartbeatMs * 0.8;
    this.timer = setInterval(() => {
      if (performance.now() - this.lastSent >= due) {
        this.heartbeatDue = true;
        this.poke();
      }
    }, Math.max(10, due / 4));
    if (this.host.stopping) this.close("stopped");
    this.poke();
  }

  private pump(): void {
    if (this.writing || this.settled || this.halfClosed) return;
    let msg = this.host.outbox.take();
    if (!msg && this.heartbeatDue) {
      msg = create(ConnectRequestSchema, { heartbeat: create(HeartbeatSchema, { time: timestampNow() }) });
    }
    if (!msg) {
      for (const wake of this.flushWaiters.splice(0)) wake();
      return;
    }
    this.heartbeatDue = false;
    this.writing = true;
    const sent = msg;
    this.call.write(sent, (err?: Error | null) => {
      this.writing = false;
      if (err) this.host.outbox.restore(sent);
      this.lastSent = performance.now();
      this.pump();
    });
  }

  /** Resolves once the outbox is empty and no write is in flight (or the session ended). */
  private flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.settled) return resolve();
      this.flushWaiters.push(resolve);
      this.poke();
    });
  }

  private finish(err: grpc.ServiceError | Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    clearInterval(this.timer);
    clearTimeout(this.closeTimer);
    for (const wake of this.flushWaiters.splice(0)) wake();
    this.call.removeAllListeners("data");
    this.call.on("error", () => {});
    this.call.cancel();
    if (this.halfClosed && this.closing) return this.resolve(this.closing);
    if (!this.welcomed) {
      return this.reject(err && "code" in err ? new DweError(err) : err ?? new SessionLost("stream ended before Welcome"));
    }
    if (err) return this.reject(err instanceof SessionLost ? err : new DweError(err as grpc.ServiceError));
    this.resolve("closed");
  }
}
