// @dwe/sdk: the Node.js client and agent of dwe.
export { Agent, SDK_NAME, type AgentOptions, type HandlerFn, type RunOptions } from "./agent.js";
export {
  DweClient, TERMINAL_EVENTS, type BatchEvents, type CreateItem, type ExecuteItem, type Namespaces,
  type SpecInput, type StepInput, type WatchOptions,
} from "./client.js";
export { AgentConfigError, DweError, NonRetryableError, PayloadTooLarge } from "./errors.js";
export { JSON_ENCODING, fromJson, json } from "./payload.js";
export { bearer, tlsCredentials, tlsFromEnv, type TlsFiles } from "./rpc.js";
export { Task, TaskCancelled } from "./task.js";
export {
  configureTelemetry, flushTelemetry, parentContext, readOtelSettings, type OtelSettings,
} from "./telemetry.js";
export * from "./gen/dwe/v1/agent_pb.js";
export * from "./gen/dwe/v1/common_pb.js";
export * from "./gen/dwe/v1/engine_pb.js";
export * from "./gen/dwe/v1/enums_pb.js";
export * from "./gen/dwe/v1/request_response_pb.js";
export * from "./gen/dwe/v1/service_pb.js";
export * from "./gen/dwe/v1/workflow_pb.js";
