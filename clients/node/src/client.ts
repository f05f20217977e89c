// The client of WorkflowService and EngineService.
import { type DescMessage, type DescService, type MessageInitShape, type MessageShape, create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { DweError } from "./errors.js";
import { EventType, type WorkflowState } from "./gen/dwe/v1/enums_pb.js";
import type { Payload } from "./gen/dwe/v1/common_pb.js";
import type { AgentInfo } from "./gen/dwe/v1/agent_pb.js";
import type { EngineMetrics } from "./gen/dwe/v1/engine_pb.js";
import type { CreateWorkflowResponse } from "./gen/dwe/v1/request_response_pb.js";
import type { DetectedIntent, WorkflowEvent, WorkflowSpecSchema, WorkflowStatus } from "./gen/dwe/v1/workflow_pb.js";
import { EngineService, WorkflowService } from "./gen/dwe/v1/service_pb.js";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { json } from "./payload.js";
import { bearer, deserializer, newClient, path, serializer } from "./rpc.js";

/** The event types that end a run. */
export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set([
  EventType.WORKFLOW_COMPLETED,
  EventType.WORKFLOW_FAILED,
  EventType.WORKFLOW_CANCELLED,
  EventType.WORKFLOW_TIMED_OUT,
]);

interface Method<I extends DescMessage, O extends DescMessage> {
  readonly name: string;
  readonly parent: DescService;
  readonly input: I;
  readonly output: O;
}

type StepInit = Exclude<NonNullable<MessageInitShape<typeof WorkflowSpecSchema>["steps"]>[number], { $typeName: string }>;
/** A step as the contract has it, or with the guide's name `agentCapability` for `capability`. */
export type StepInput = StepInit & { agentCapability?: string };
/** A workflow spec; steps may use `agentCapability`. */
export type SpecInput = Omit<MessageInitShape<typeof WorkflowSpecSchema>, "steps"> & { steps?: StepInput[] };

/** A namespace filter: names (empty: every namespace the caller may see), or one name. */
export type Namespaces = string[] | string;

function names(namespaces: Namespaces): string[] {
  if (typeof namespaces === "string") return namespaces ? [namespaces] : [];
  return [...namespaces];
}

/** The contract's spec: a step's `agentCapability` becomes its `capability`. */
function specOf(spec: SpecInput): MessageInitShape<typeof WorkflowSpecSchema> {
  const steps = (spec.steps ?? []).map(({ agentCapability, ...step }) => ({
    ...step,
    capability: step.capability || agentCapability || "",
  }));
  return { ...spec, steps } as MessageInitShape<typeof WorkflowSpecSchema>;
}

/** A start context as a json/plain Payload (none when undefined). */
function contextOf(context: unknown): Payload | undefined {
  return context === undefined ? undefined : json(context);
}

/** One item of createWorkflows: createWorkflow's arguments. */
export interface CreateItem {
  spec: SpecInput;
  requestId?: string;
  /** Default: the client's `namespace`. */
  namespace?: string;
}

/** One item of executeWorkflows: executeWorkflow's arguments. */
export interface ExecuteItem {
  workflowId: string;
  context?: unknown;
  sessionId?: string;
}

/** One message of an executeWorkflows stream. */
export interface BatchEvents {
  /** Events of the started workflows, interleaved; each workflow's in seq order. */
  events: WorkflowEvent[];
  /** The workflows that could not be started, each as the error its executeWorkflow would have
   * thrown, with its `workflowId`; only in the first message, before any event. */
  errors: DweError[];
}

/** Options of watch streams: how often a broken stream is resumed (UNAVAILABLE only). */
export interface WatchOptions {
  /** Resumes in a row before giving up (default 10). */
  maxResumes?: number;
}

export class DweClient {
  /** Where createWorkflow(s) and startIntent create workflows when the call names no namespace
   * ("": the caller's namespace, "default" with auth off, else the token's first). */
  namespace: string;
  private readonly channel: grpc.Client;
  private readonly metadata: grpc.Metadata;

  /**
   * @param target e.g. "127.0.0.1:50051" (default $DWE_TARGET or 127.0.0.1:50051).
   * @param options extra gRPC channel options.
   * @param credentials channel credentials (default: TLS from DWE_TLS_CA/DWE_TLS_CERT/DWE_TLS_KEY
   *   when set, else plaintext); see tlsCredentials().
   * @param token bearer token for a server with auth on (default $DWE_TOKEN).
   * @param namespace the default namespace of creates (default $DWE_NAMESPACE, else "").
   */
  constructor(
    target: string = process.env.DWE_TARGET || "127.0.0.1:50051",
    options: grpc.ChannelOptions = {},
    credentials?: grpc.ChannelCredentials,
    token?: string,
    namespace?: string,
  ) {
    this.channel = newClient(target, options, credentials);
    this.metadata = bearer(token);
    this.namespace = namespace ?? process.env.DWE_NAMESPACE ?? "";
  }

  close(): void {
    this.channel.close();
  }

  private unary<I extends DescMessage, O extends DescMessage>(
    m: Method<I, O>,
    request: MessageInitShape<I>,
  ): Promise<MessageShape<O>> {
    const req = create(m.input, request);
    return new Promise((resolve, reject) => {
      this.channel.makeUnaryRequest(path(m as never), serializer(m.input), deserializer(m.output), req,
        this.metadata.clone(), (err: grpc.ServiceError | null, res?: MessageShape<O>) => (err || !res ? reject(new DweError(err ?? {})) : resolve(res)));
    });
  }

  /** The messages of a server stream; leaving early cancels the call. */
  private async *responses<I extends DescMessage, O extends DescMessage, R = MessageShape<O>>(
    m: Method<I, O>,
    request: MessageInitShape<I>,
  ): AsyncGenerator<R> {
    const call = this.channel.makeServerStreamRequest(path(m as never), serializer(m.input), deserializer(m.output),
      create(m.input, request), this.metadata.clone());
    try {
      for await (const response of call as AsyncIterable<R>) yield response;
    } catch (err) {
      throw new DweError(err as grpc.ServiceError);
    } finally {
      call.cancel();
    }
  }

  /** The events of a stream whose messages carry `events`. */
  private async *serverStream<I extends DescMessage, O extends DescMessage>(
    m: Method<I, O>,
    request: MessageInitShape<I>,
  ): AsyncGenerator<WorkflowEvent> {
    for await (const response of this.responses<I, O, { events: WorkflowEvent[] }>(m, request)) {
      for (const event of response.events) yield event;
    }
  }

  /**
   * Validates and stores a workflow; steps may name `capability` or `agentCapability`.
   * `namespace`: where to create it (default: the client's `namespace`); a name the token
   * does not grant is PERMISSION_DENIED, a malformed one INVALID_ARGUMENT.
   */
  createWorkflow(spec: SpecInput, requestId = "", namespace = "") {
    return this.unary(WorkflowService.method.createWorkflow, {
      spec: specOf(spec), requestId, namespace: namespace || this.namespace,
    });
  }

  /**
   * CreateWorkflows: up to 1,000 creates in one call, each item as its own createWorkflow
   * (checks, `requestId` idempotency). Resolves, in item order, to each item's response or the
   * DweError its createWorkflow would have thrown (same `code` and `details`); nothing of a
   * failed item is stored. Rejects (INVALID_ARGUMENT) for no item or more than 1,000.
   */
  async createWorkflows(items: CreateItem[]): Promise<Array<CreateWorkflowResponse | DweError>> {
    const requests = items.map(({ spec, requestId = "", namespace = "" }) => ({
      spec: specOf(spec), requestId, namespace: namespace || this.namespace,
    }));
    const res = await this.unary(WorkflowService.method.createWorkflows, { requests });
    return res.results.map(({ result }) => {
      if (result.case === "created") return result.value;
      if (result.case === "error") return DweError.fromItem(result.value);
      return new DweError({ code: grpc.status.INTERNAL, details: "result without created or error" });
    });
  }

  startWorkflow(workflowId: string, context?: unknown, sessionId = "") {
    return this.unary(WorkflowService.method.startWorkflow, {
      workflowId, context: contextOf(context), sessionId,
    });
  }

  /**
   * Starts the workflow and yields its events up to the terminal one. A stream that
   * breaks with UNAVAILABLE (e.g. a server restart) resumes with WatchWorkflow after
   * the last seq seen, so no event is missed or repeated.
   */
  async *executeWorkflow(workflowId: string, context?: unknown, sessionId = "", options: WatchOptions = {}) {
    let last = 0n;
    try {
      for await (const event of this.serverStream(WorkflowService.method.executeWorkflow, {
        workflowId, context: contextOf(context), sessionId,
      })) {
        last = event.seq;
        yield event;
        if (TERMINAL_EVENTS.has(event.type)) return;
      }
    } catch (err) {
      if (!(err instanceof DweError) || err.code !== "UNAVAILABLE" || last === 0n) throw err;
    }
    yield* this.watchWorkflow(workflowId, last, options);
  }

  /**
   * ExecuteWorkflows: starts up to 1,000 PENDING workflows in one call and yields the stream's
   * messages until every started one has sent its terminal event. The first message's `errors`
   * are the items that could not be started (NOT_FOUND, FAILED_PRECONDITION when already started,
   * ...: what executeWorkflow would have thrown, with `workflowId` set); they send no events.
   * Then come the `events` of the others, interleaved, each workflow's in seq order. Rejects
   * (INVALID_ARGUMENT) for no item, more than 1,000, or a workflow id given twice. Leaving the
   * loop early cancels the stream, not the workflows. A broken stream is not resumed: follow
   * each unfinished workflow with watchWorkflow after its last seq.
   */
  async *executeWorkflows(items: ExecuteItem[]): AsyncGenerator<BatchEvents> {
    const workflows = items.map(({ workflowId, context, sessionId = "" }) => ({
      workflowId, context: contextOf(context), sessionId,
    }));
    const m = WorkflowService.method.executeWorkflows;
    // A bidirectional stream: this call sends its one message and closes its side at once.
    const call = this.channel.makeBidiStreamRequest(path(m as never), serializer(m.input),
      deserializer(m.output), this.metadata.clone());
    call.write(create(m.input, { workflows }));
    call.end();
    try {
      for await (const res of call as AsyncIterable<MessageShape<typeof m.output>>) {
        yield { events: res.events, errors: res.errors.map((item) => DweError.fromItem(item)) };
      }
    } catch (err) {
      throw new DweError(err as grpc.ServiceError);
    } finally {
      call.cancel();
    }
  }

  /** Events after `afterSeq` up to the terminal one, resuming a broken stream by seq. */
  async *watchWorkflow(workflowId: string, afterSeq: bigint | number = 0, options: WatchOptions = {}) {
    let last = BigInt(afterSeq);
    const maxResumes = options.maxResumes ?? 10;
    for (let failures = 0; ; ) {
      try {
        for await (const event of this.serverStream(WorkflowService.method.watchWorkflow, { workflowId, afterSeq: last })) {
          last = event.seq;
          failures = 0;
          yield event;
          if (TERMINAL_EVENTS.has(event.type)) return;
        }
        return;
      } catch (err) {
        if (!(err instanceof DweError) || err.code !== "UNAVAILABLE" || ++failures > maxResumes) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (failures - 1), 2000)));
      }
    }
  }

  /** Events of all (or the given) workflows of the given namespaces (default: every one the
   * caller may see) as they happen; does not end by itself. */
  /**
   * Live events of every workflow. With `afterPosition`, the stored events after it come
   * first (0: from the start): pass the last `event.position` seen to resume a broken
   * stream, on any replica, without a gap or a repeat.
   */
  watchEvents(
    types: EventType[] = [], workflowIds: string[] = [], namespaces: Namespaces = [],
    afterPosition?: bigint,
  ) {
    return this.serverStream(WorkflowService.method.watchEvents, {
      types, workflowIds, namespaces: names(namespaces), afterPosition,
    });
  }

  async getWorkflowStatus(workflowId: string): Promise<WorkflowStatus> {
    const res = await this.unary(WorkflowService.method.getWorkflowStatus, { workflowId });
    if (!res.status) throw new DweError({ code: grpc.status.INTERNAL, details: "response without status" });
    return res.status;
  }

  /** One page of workflows, newest first; only those of `namespaces` when given. */
  listWorkflows(pageSize = 0, pageToken = "", states: WorkflowState[] = [], namespaces: Namespaces = []) {
    return this.unary(WorkflowService.method.listWorkflows, {
      pageSize, pageToken, states, namespaces: names(namespaces),
    });
  }

  cancelWorkflow(workflowId: string, reason = "") {
    return this.unary(WorkflowService.method.cancelWorkflow, { workflowId, reason });
  }

  async analyzeIntent(message: string): Promise<DetectedIntent | undefined> {
    return (await this.unary(WorkflowService.method.analyzeIntent, { message })).intent;
  }

  /** Creates and starts the workflow the message's intent maps to, in `namespace` (default:
   * the client's `namespace`). */
  startIntent(message: string, context?: unknown, sessionId = "", requestId = "", namespace = "") {
    return this.unary(WorkflowService.method.startIntent, {
      message, context: contextOf(context), sessionId, requestId,
      namespace: namespace || this.namespace,
    });
  }

  async registerAgent(agent: MessageInitShape<typeof EngineService.method.registerAgent.input>["agent"]) {
    return (await this.unary(EngineService.method.registerAgent, { agent })).agent;
  }

  /** Registered and connected agents, of `namespaces` only when given. */
  async listAgents(namespaces: Namespaces = []): Promise<AgentInfo[]> {
    return (await this.unary(EngineService.method.listAgents, { namespaces: names(namespaces) })).agents;
  }

  /** Engine metrics; with `namespaces`, those namespaces' workflow and agent figures. */
  async getEngineMetrics(namespaces: Namespaces = []): Promise<EngineMetrics | undefined> {
    return (await this.unary(EngineService.method.getEngineMetrics, { namespaces: names(namespaces) })).metrics;
  }

  /** The server's version and limits (maxMessageBytes, maxPayloadBytes, heartbeatInterval) and
   * the caller: subject, role, namespace (where its creates go), namespaces (["*"]: all). */
  getServerInfo() {
    return this.unary(EngineService.method.getServerInfo, {});
  }

  /** The old name of getServerInfo (@dwe/client 0.1). */
  serverInfo() {
    return this.getServerInfo();
  }

  /** Deletes workflows that ended more than `olderThanSeconds` ago (`dryRun`: only counts),
   * of `namespaces` only when given. */
  pruneWorkflows(olderThanSeconds: number, dryRun = false, namespaces: Namespaces = []) {
    const seconds = Math.floor(olderThanSeconds);
    const nanos = Math.round((olderThanSeconds - seconds) * 1e9);
    return this.unary(EngineService.method.pruneWorkflows, {
      olderThan: create(DurationSchema, { seconds: BigInt(seconds), nanos }), dryRun,
      namespaces: names(namespaces),
    });
  }
}

export type { Payload };
