// The client of WorkflowService and EngineService.
import { type DescMessage, type DescService, type MessageInitShape, type MessageShape, create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { DweError } from "./errors.js";
import { EventType, type WorkflowState } from "./gen/dwe/v1/enums_pb.js";
import type { Payload } from "./gen/dwe/v1/common_pb.js";
import type { AgentInfo } from "./gen/dwe/v1/agent_pb.js";
import type { EngineMetrics } from "./gen/dwe/v1/engine_pb.js";
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

/** Options of watch streams: how often a broken stream is resumed (UNAVAILABLE only). */
export interface WatchOptions {
  /** Resumes in a row before giving up (default 10). */
  maxResumes?: number;
}

export class DweClient {
  /** Where createWorkflow and startIntent create workflows when the call names no namespace
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

  private async *serverStream<I extends DescMessage, O extends DescMessage & { }>(
    m: Method<I, O>,
    request: MessageInitShape<I>,
  ): AsyncGenerator<WorkflowEvent> {
    const call = this.channel.makeServerStreamRequest(path(m as never), serializer(m.input), deserializer(m.output),
      create(m.input, request), this.metadata.clone());
    try {
      for await (const response of call as AsyncIterable<{ events: WorkflowEvent[] }>) {
        for (const event of response.events) yield event;
      }
    } catch (err) {
      throw new DweError(err as grpc.ServiceError);
    } finally {
      call.cancel();
    }
  }

  /**
   * Validates and stores a workflow; steps may name `capability` or `agentCapability`.
   * `namespace`: where to create it (default: the client's `namespace`); a name the token
   * does not grant is PERMISSION_DENIED, a malformed one INVALID_ARGUMENT.
   */
  createWorkflow(spec: SpecInput, requestId = "", namespace = "") {
    const steps = (spec.steps ?? []).map(({ agentCapability, ...step }) => ({
      ...step,
      capability: step.capability || agentCapability || "",
    }));
    const full = { ...spec, steps } as MessageInitShape<typeof WorkflowSpecSchema>;
    return this.unary(WorkflowService.method.createWorkflow, {
      spec: full, requestId, namespace: namespace || this.namespace,
    });
  }

  startWorkflow(workflowId: string, context?: unknown, sessionId = "") {
    return this.unary(WorkflowService.method.startWorkflow, {
      workflowId, context: context === undefined ? undefined : json(context), sessionId,
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
        workflowId, context: context === undefined ? undefined : json(context), sessionId,
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
      message, context: context === undefined ? undefined : json(context), sessionId, requestId,
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
