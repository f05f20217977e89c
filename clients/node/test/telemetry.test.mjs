// OTEL_* read as the Python side reads them (dwe.common.otel), and the handler span's parent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { trace } from "@opentelemetry/api";
import { parentContext, readOtelSettings } from "../dist/index.js";

const read = (env) => {
  const warnings = [];
  return [readOtelSettings("dwe-agent-node", env, (m) => warnings.push(m)), warnings];
};

test("defaults: no exporter, http/protobuf to localhost:4318", () => {
  const [s, warnings] = read({});
  assert.deepEqual(s.tracesExporters, []);
  assert.equal(s.serviceName, "dwe-agent-node");
  assert.equal(s.otlpProtocol, "http/protobuf");
  assert.equal(s.otlpEndpoint, "http://localhost:4318/v1/traces");
  assert.deepEqual(warnings, []);
});

test("comma lists, none, and one warning line for unknown names", () => {
  const [s, warnings] = read({ OTEL_TRACES_EXPORTER: "zipkin, Console,otlp,console,jaeger" });
  assert.deepEqual(s.tracesExporters, ["console", "otlp"]);
  assert.deepEqual(warnings, [
    "OTEL_TRACES_EXPORTER: ignoring unknown exporter 'zipkin', 'jaeger' (supported: console, otlp, none)",
  ]);
  assert.deepEqual(read({ OTEL_TRACES_EXPORTER: "console,none" })[0].tracesExporters, []);
});

test("service name and resource attributes", () => {
  const attrs = "service.name=attr,deployment.environment=a%20b";
  assert.equal(read({ OTEL_RESOURCE_ATTRIBUTES: attrs })[0].serviceName, "attr");
  const [s] = read({ OTEL_RESOURCE_ATTRIBUTES: attrs, OTEL_SERVICE_NAME: "named" });
  assert.deepEqual(s.resourceAttributes, { "service.name": "named", "deployment.environment": "a b" });
  const [bad, warnings] = read({ OTEL_RESOURCE_ATTRIBUTES: "a=1,oops" });
  assert.deepEqual(bad.resourceAttributes, { "service.name": "dwe-agent-node" });
  assert.equal(warnings.length, 1);
});

test("OTLP endpoints and protocols follow the spec", () => {
  let [s] = read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" });
  assert.equal(s.otlpEndpoint, "http://c:4318/v1/traces");
  [s] = read({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_ENDPOINT: "https://c:4317" });
  assert.deepEqual([s.otlpProtocol, s.otlpEndpoint], ["grpc", "https://c:4317"]);
  [s] = read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t/x" });
  assert.equal(s.otlpEndpoint, "http://t/x");
  const [j, warnings] = read({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" });
  assert.equal(j.otlpProtocol, "http/protobuf");
  assert.match(warnings[0], /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL='http\/json' is not supported/);
});

test("parentContext reads the Assignment's traceparent", () => {
  assert.equal(parentContext("", ""), undefined);
  const ctx = parentContext("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v");
  const sc = trace.getSpanContext(ctx);
  assert.equal(sc.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.equal(sc.spanId, "b7ad6b7169203331");
  assert.equal(sc.isRemote, true);
  assert.equal(sc.traceState.get("k"), "v");
});
