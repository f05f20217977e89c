// Outgoing buffer: started ids, progress and results wait here; one writer sends
// them in batches. It lives on the Agent, not a session, so what handlers produce
// while disconnected goes out on the next stream (the Python SDK's Outbox).
import { create } from "@bufbuild/protobuf";
import {
  type ConnectRequest,
  ConnectRequestSchema,
  type StepProgress,
  type StepResult,
} from "./gen/dwe/v1/agent_pb.js";

/** Most items of one kind in one ConnectRequest. */
export const MAX_ITEMS_PER_MESSAGE = 2000;
/** Payload bytes after which a message is cut; at most half the server's message limit. */
export const MAX_BYTES_PER_MESSAGE = 1 << 20;
/** Progress items buffered before `task.stream` waits for the writer. */
export const PROGRESS_HIGH_WATER = 10_000;

export class Outbox {
  started: string[] = [];
  progress: StepProgress[] = [];
  results: StepResult[] = [];
  maxBytes = MAX_BYTES_PER_MESSAGE;
  /** The server's payload limit from Welcome (0: not told yet). */
  maxPayload = 0;
  /** Numbered progress per attempt not yet acknowledged as stored. */
  readonly unacked = new Map<string, StepProgress[]>();
  private readonly counts = new Map<string, bigint>();
  private readonly roomWaiters: (() => void)[] = [];
  /** Called whenever something was queued (the session's writer wakes up). */
  onReady: () => void = () => {};

  limit(maxMessage: bigint, maxPayload: bigint): void {
    if (maxMessage > 0n) this.maxBytes = Math.min(MAX_BYTES_PER_MESSAGE, Number(maxMessage / 2n));
    this.maxPayload = maxPayload > 0n ? Number(maxPayload) : 0;
  }

  get size(): number {
    return this.started.length + this.progress.length + this.results.length;
  }

  addStarted(attemptId: string): void {
    this.started.push(attemptId);
    this.onReady();
  }

  addProgress(item: StepProgress): void {
    this.progress.push(item);
    if (item.index) {
      const kept = this.unacked.get(item.attemptId) ?? [];
      kept.push(item);
      this.unacked.set(item.attemptId, kept);
      this.counts.set(item.attemptId, item.index);
    }
    this.onReady();
  }

  /** Queue a result; it says how much numbered progress came before it. */
  addResult(item: StepResult): void {
    const count = this.counts.get(item.attemptId);
    this.counts.delete(item.attemptId);
    if (count) item.progressCount = count;
    this.results.push(item);
    this.onReady();
  }

  /** Backpressure for streaming handlers: resolves once progress is below the high water. */
  waitProgressRoom(): Promise<void> {
    if (this.progress.length < PROGRESS_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Remove one message's worth of what is pending (undefined when nothing is). */
  take(): ConnectRequest | undefined {
    if (this.size === 0) return undefined;
    const n = MAX_ITEMS_PER_MESSAGE;
    const started = this.started.splice(0, n);
    const progress = cut(this.progress, n, this.maxBytes, true);
    this.progress = this.progress.slice(progress.length);
    const room = this.maxBytes - progress.reduce((t, x) => t + size(x), 0);
    const head = cut(this.results, n, room, progress.length === 0);
    const rest = this.results.slice(head.length);
    // A result waits while progress of its attempt is still queued: the server applies
    // progress before the result that counts it.
    const waiting = new Set(this.progress.map((p) => p.attemptId));
    const results = head.filter((r) => !waiting.has(r.attemptId));
    this.results = [...head.filter((r) => waiting.has(r.attemptId)), ...rest];
    if (this.progress.length < PROGRESS_HIGH_WATER) {
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
    return create(ConnectRequestSchema, { started, progress, results });
  }

  /** The server stored the attempt's progress up to `index`: forget it. */
  acknowledge(attemptId: string, index: bigint): void {
    const kept = this.unacked.get(attemptId);
    if (!kept) return;
    while (kept.length && kept[0]!.index <= index) kept.shift();
    if (!kept.length) this.unacked.delete(attemptId);
  }

  /** Queue again, first, the progress past what the server stored (attempt id -> index). */
  resend(stored: Map<string, bigint>): void {
    const again: StepProgress[] = [];
    for (const [attemptId, index] of stored) {
      this.acknowledge(attemptId, index);
      again.push(...(this.unacked.get(attemptId) ?? []));
    }
    if (!again.length) return;
    const ids = new Set(again.map((p) => p.attemptId));
    this.progress = [...again, ...this.progress.filter((p) => !ids.has(p.attemptId))];
    this.onReady();
  }

  /** A new session resumed these attempts: resend their progress past `stored`; forget the rest. */
  welcomed(resumed: string[], stored: Record<string, bigint>): void {
    this.resend(new Map(resumed.map((id) => [id, stored[id] ?? 0n])));
    const keep = new Set([...resumed, ...Object.keys(stored)]);
    for (const id of [...this.unacked.keys()]) if (!keep.has(id)) this.unacked.delete(id);
  }

  resultIds(): string[] {
    return this.results.map((r) => r.attemptId);
  }

  /** Drop queued progress and results of attempts the server no longer expects. */
  discard(ids: Set<string>): void {
    this.results = this.results.filter((r) => !ids.has(r.attemptId));
    this.progress = this.progress.filter((p) => !ids.has(p.attemptId));
    for (const id of ids) {
      this.unacked.delete(id);
      this.counts.delete(id);
    }
  }

  /** Put back a message whose write failed, ahead of anything newer (started ids are dropped). */
  restore(msg: ConnectRequest): void {
    this.progress.unshift(...msg.progress);
    this.results.unshift(...msg.results);
  }
}

function size(item: StepResult | StepProgress): number {
  if (item.$typeName === "dwe.v1.StepResult") {
    const o = item.outcome;
    return o.case === "output" ? o.value.data.length : o.case === "error" ? o.value.message.length : 0;
  }
  return item.content.length + (item.data?.data.length ?? 0);
}

/** The longest head within `limit` items and `maxBytes`; with `atLeastOne`, the first item anyway. */
function cut<T extends StepResult | StepProgress>(items: T[], limit: number, maxBytes: number, atLeastOne: boolean): T[] {
  let total = 0;
  const head = items.slice(0, limit);
  for (let i = 0; i < head.length; i++) {
    total += size(head[i]!);
    if (total > maxBytes && (i > 0 || !atLeastOne)) return head.slice(0, i);
  }
  return head;
}
