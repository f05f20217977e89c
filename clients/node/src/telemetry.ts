// OpenTelemetry for the Node.js agent: the standard OTEL_* variables, read as the Python
// side reads them (dwe.common.otel), and one span per handler run, a child of the
// server's step span whose W3C traceparent comes in the Assignment.
import {
  type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, defaultTextMapGetter, trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Task } from "./task.js";

const TRACES_EXPORTERS = ["console", "otlp"];
const PROTOCOLS = ["http/protobuf", "grpc"];
const DEFAULT_PROTOCOL = "http/protobuf";
const DEFAULT_ENDPOINTS: Record<string, string> = {
  "http/protobuf": "http://localhost:4318", grpc: "http://localhost:4317",
};

type Env = Record<string, string | undefined>;
type Warn = (message: string) => void;

/** What the OTEL_* variables ask of this process (traces only: the agent has no metrics). */
export interface OtelSettings {
  serviceName: string;
  resourceAttributes: Record<string, string>;
  tracesExporters: string[];
  otlpProtocol: string;
  otlpEndpoint: string;
  disabled: boolean;
}

/** Read the OTEL_* variables; unknown names are ignored with one warning line per variable. */
export function readOtelSettings(defaultService: string, env: Env = process.env, warn: Warn = console.warn): OtelSettings {
  const attrs = resourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES ?? "", warn);
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || attrs["service.name"] || defaultService;
  attrs["service.name"] = serviceName;
  const names = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((n) => n.trim().toLowerCase()).filter(Boolean);
  const unknown = names.filter((n) => !TRACES_EXPORTERS.includes(n) && n !== "none");
  if (unknown.length) {
    warn(`OTEL_TRACES_EXPORTER: ignoring unknown exporter ${unknown.map((n) => `'${n}'`).join(", ")} (supported: ${TRACES_EXPORTERS.join(", ")}, none)`);
  }
  const exporters = names.includes("none") ? [] : [...new Set(names.filter((n) => TRACES_EXPORTERS.includes(n)))];
  const [otlpProtocol, otlpEndpoint] = otlp(env, warn);
  return {
    serviceName, resourceAttributes: attrs, tracesExporters: exporters, otlpProtocol, otlpEndpoint,
    disabled: (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true",
  };
}

/** `k=v` pairs, values percent-decoded; a malformed list is dropped whole, as the spec says. */
function resourceAttributes(raw: string, warn: Warn): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const item of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = item.indexOf("=");
    if (at <= 0) {
      warn(`OTEL_RESOURCE_ATTRIBUTES: '${item}' is not key=value; all ignored`);
      return {};
    }
    attrs[item.slice(0, at).trim()] = decodeURIComponent(item.slice(at + 1).trim());
  }
  return attrs;
}

function otlp(env: Env, warn: Warn): [string, string] {
  const own = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
  const raw = own || env.OTEL_EXPORTER_OTLP_PROTOCOL || DEFAULT_PROTOCOL;
  let protocol = raw.trim().toLowerCase();
  if (!PROTOCOLS.includes(protocol)) {
    const variable = own ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
    warn(`${variable}='${raw}' is not supported (supported: ${PROTOCOLS.join(", ")}); using ${DEFAULT_PROTOCOL}`);
    protocol = DEFAULT_PROTOCOL;
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (endpoint) return [protocol, endpoint];
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || DEFAULT_ENDPOINTS[protocol];
  return [protocol, protocol === "grpc" ? base : `${base.replace(/\/+$/, "")}/v1/traces`];
}

async function spanExporter(name: string, s: OtelSettings, warn: Warn): Promise<SpanExporter | undefined> {
  if (name === "console") return new (await import("@opentelemetry/sdk-trace-base")).ConsoleSpanExporter();
  try {
    if (s.otlpProtocol === "grpc") {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-grpc");
      return new OTLPTraceExporter({ url: s.otlpEndpoint });
    }
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
    return new OTLPTraceExporter({ url: s.otlpEndpoint });
  } catch (err) {
    warn(`OTLP export asked for, but the OTLP exporter cannot load: ${String(err)}`);
    return undefined;
  }
}

/** The provider installed here, to flush when the agent stops. */
let installed: { forceFlush(): Promise<void> } | undefined;
let configuring: Promise<void> | undefined;

/**
 * Install a global tracer provider as OTEL_* ask, once per process (Agent.run calls it).
 * A provider the application registered first is kept: its spans go where it says.
 */
export function configureTelemetry(defaultService = "dwe-agent-node", env: Env = process.env): Promise<void> {
  configuring ??= install(defaultService, env);
  return configuring;
}

async function install(defaultService: string, env: Env): Promise<void> {
  const s = readOtelSettings(defaultService, env);
  if (s.disabled || !s.tracesExporters.length) return;
  const exporters = (await Promise.all(s.tracesExporters.map((n) => spanExporter(n, s, console.warn))))
    .filter((e): e is SpanExporter => e !== undefined);
  if (!exporters.length) return;
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { defaultResource, resourceFromAttributes } = await import("@opentelemetry/resources");
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes(s.resourceAttributes)),
    spanProcessors: exporters.map((e) => new BatchSpanProcessor(e)),
  });
  if (trace.setGlobalTracerProvider(provider)) installed = provider;
  else await provider.shutdown();
}

/** Export the spans still buffered (the agent calls it when it stops). */
export async function flushTelemetry(): Promise<void> {
  await installed?.forceFlush();
}

const propagator = new W3CTraceContextPropagator();

/** The server's step-span context from the Assignment's W3C headers (undefined if absent). */
export function parentContext(traceparent: string, tracestate: string): Context | undefined {
  if (!traceparent) return undefined;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate) carrier.tracestate = tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

function tracer(): Tracer {
  return trace.getTracer("dwe.agent_sdk.node");
}

/** A CONSUMER span around one handler run, as the Python SDK makes ("dwe.handler CAP"). */
export function startHandlerSpan(task: Task, agentId: string): Span {
  const a = task.assignment;
  return tracer().startSpan(`dwe.handler ${task.capability}`, {
    kind: SpanKind.CONSUMER,
    attributes: {
      "dwe.workflow_id": task.workflowId, "dwe.step_id": task.stepId, "dwe.attempt": task.attempt,
      "dwe.agent_id": agentId, "dwe.capability": task.capability,
    },
  }, parentContext(a.traceparent, a.tracestate) ?? ROOT_CONTEXT);
}

/** Ends a handler span with the outcome ("completed", "failed", "cancelled", ...). */
export function endHandlerSpan(span: Span, outcome: string, err?: unknown): void {
  span.setAttribute("dwe.outcome", outcome);
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}
