// The proto3 JSON mapping of the dwe.v1 messages the dashboard reads (protos/dwe/v1).
// Hand-written rather than generated so the bundle carries no protobuf runtime: proto3
// JSON leaves out default values, so every field is optional; int64 fields are strings,
// Timestamps RFC 3339 strings and Durations strings such as "1.5s".

export type WorkflowState =
  | "WORKFLOW_STATE_UNSPECIFIED"
  | "WORKFLOW_STATE_PENDING"
  | "WORKFLOW_STATE_QUEUED"
  | "WORKFLOW_STATE_RUNNING"
  | "WORKFLOW_STATE_COMPLETED"
  | "WORKFLOW_STATE_FAILED"
  | "WORKFLOW_STATE_CANCELLED"
  | "WORKFLOW_STATE_TIMED_OUT";

export type StepState =
  | "STEP_STATE_UNSPECIFIED"
  | "STEP_STATE_PENDING"
  | "STEP_STATE_READY"
  | "STEP_STATE_ASSIGNED"
  | "STEP_STATE_RUNNING"
  | "STEP_STATE_COMPLETED"
  | "STEP_STATE_FAILED"
  | "STEP_STATE_CANCELLED"
  | "STEP_STATE_SKIPPED"
  | "STEP_STATE_RETRY_WAIT";

export type EventType =
  | "EVENT_TYPE_UNSPECIFIED"
  | "EVENT_TYPE_WORKFLOW_STARTED"
  | "EVENT_TYPE_AGENT_STARTED"
  | "EVENT_TYPE_AGENT_STREAM"
  | "EVENT_TYPE_AGENT_COMPLETED"
  | "EVENT_TYPE_AGENT_ERROR"
  | "EVENT_TYPE_AGENT_RETRYING"
  | "EVENT_TYPE_WORKFLOW_ADAPTED"
  | "EVENT_TYPE_WORKFLOW_COMPLETED"
  | "EVENT_TYPE_WORKFLOW_FAILED"
  | "EVENT_TYPE_WORKFLOW_CANCELLED"
  | "EVENT_TYPE_WORKFLOW_TIMED_OUT"
  | "EVENT_TYPE_WORKFLOW_QUEUED"
  | "EVENT_TYPE_STEP_SKIPPED";

export interface Payload {
  encoding?: string;
  /** base64 */
  data?: string;
  metadata?: Record<string, string>;
}

export interface ErrorInfo {
  message?: string;
  type?: string;
  retryable?: boolean;
}

export interface StepStatus {
  stepId: string;
  name?: string;
  state?: StepState;
  attempts?: number;
  agentId?: string;
  executionTime?: string;
  output?: Payload;
  error?: ErrorInfo;
  capability?: string;
  outputOmitted?: boolean;
  /** Ids of the steps this one waits for; read when the server sends them. */
  dependencies?: string[];
}

export interface WorkflowStatus {
  workflowId: string;
  name?: string;
  state?: WorkflowState;
  progress?: number;
  currentStep?: string;
  totalExecutionTime?: string;
  steps?: StepStatus[];
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  lastSeq?: string;
  errorMessage?: string;
  description?: string;
  omittedSteps?: number;
  namespace?: string;
}

export interface WorkflowSummary {
  workflowId: string;
  name?: string;
  state?: WorkflowState;
  totalSteps?: number;
  completedSteps?: number;
  createdAt?: string;
  finishedAt?: string;
  namespace?: string;
}

export interface RunSummary {
  successRate?: number;
  totalExecutionTime?: string;
  completedSteps?: number;
  failedSteps?: number;
  skippedSteps?: number;
  cancelledSteps?: number;
  totalSteps?: number;
  errorMessage?: string;
}

interface RunOpened {
  name?: string;
  namespace?: string;
  totalSteps?: number;
  context?: Payload;
}

export interface WorkflowEvent {
  workflowId: string;
  seq?: string;
  type?: EventType;
  time?: string;
  position?: string;
  stepId?: string;
  stepName?: string;
  attempt?: number;
  agentId?: string;
  workflowStarted?: RunOpened;
  workflowQueued?: RunOpened;
  stepAssigned?: { task?: string; capability?: string };
  stepStreamed?: { content?: string; data?: Payload };
  stepCompleted?: { output?: Payload; executionTime?: string };
  stepAttemptFailed?: { error?: ErrorInfo; willRetry?: boolean; executionTime?: string };
  stepRetrying?: { nextAttempt?: number; delay?: string; reason?: string };
  stepSkipped?: { error?: ErrorInfo; dependency?: string };
  workflowAdapted?: { decision?: string; reason?: string; stepIds?: string[] };
  workflowCompleted?: { summary?: RunSummary };
  workflowFailed?: { summary?: RunSummary };
  workflowCancelled?: { summary?: RunSummary };
  workflowTimedOut?: { summary?: RunSummary };
}

export interface AgentInfo {
  agentId: string;
  agentType?: string;
  capabilities?: string[];
  maxConcurrentTasks?: number;
  connected?: boolean;
  registered?: boolean;
  currentLoad?: number;
  labels?: Record<string, string>;
  completedSteps?: string;
  failedSteps?: string;
  connectedAt?: string;
  namespace?: string;
  /** EWMA of the session's successful attempts (a proto3 JSON Duration, "0s" before one). */
  meanDuration?: string;
  /** EWMA of the session's attempt failures, 0..1. */
  failureRate?: number;
}

export interface EngineMetrics {
  activeWorkflows?: number;
  queuedWorkflows?: number;
  completedWorkflows?: string;
  failedWorkflows?: string;
  cancelledWorkflows?: string;
  timedOutWorkflows?: string;
  agentLoad?: Record<string, number>;
  resourceUsage?: { cpuPercent?: number; memoryMb?: number };
  performanceMetrics?: Record<string, { values?: number[] }>;
  completedSteps?: string;
  failedSteps?: string;
  connectedAgents?: number;
  uptimeSeconds?: number;
  sampleIntervalSeconds?: number;
}

export interface ServerInfo {
  version?: string;
  subject?: string;
  role?: string;
  namespace?: string;
  namespaces?: string[];
}

export interface ListWorkflowsResponse {
  workflows?: WorkflowSummary[];
  nextPageToken?: string;
}
export interface GetWorkflowStatusResponse {
  status?: WorkflowStatus;
}
export interface CancelWorkflowResponse {
  cancelled?: boolean;
  state?: WorkflowState;
}
export interface ListAgentsResponse {
  agents?: AgentInfo[];
  omittedAgents?: number;
}
export interface GetEngineMetricsResponse {
  metrics?: EngineMetrics;
}
