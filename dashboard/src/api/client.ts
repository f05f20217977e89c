// Every call of the HTTP API goes through here, so the token and the error shape are
// handled once: a 401 opens the token prompt, other errors become ApiError.
import { requireToken, token } from "./auth";
import type {
  CancelWorkflowResponse,
  GetEngineMetricsResponse,
  GetWorkflowStatusResponse,
  ListAgentsResponse,
  ListWorkflowsResponse,
  ServerInfo,
  WorkflowState,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const headers = new Headers(init?.headers);
  const bearer = token();
  if (bearer) headers.set("Authorization", `Bearer ${bearer}`);
  const response = await fetch(path, { ...init, headers });
  if (response.ok) return (await response.json()) as T;
  if (response.status === 401) requireToken();
  let code = String(response.status);
  let message = response.statusText;
  try {
    const body = (await response.json()) as { code?: string; message?: string };
    code = body.code ?? code;
    message = body.message ?? message;
  } catch {
    // Not the API's JSON error (a proxy's page, say): keep the HTTP status.
  }
  throw new ApiError(response.status, code, message);
}

export interface WorkflowQuery {
  states?: WorkflowState[];
  namespace?: string;
  name?: string;
  since?: string;
  pageSize?: number;
  pageToken?: string;
}

export function listWorkflows(q: WorkflowQuery): Promise<ListWorkflowsResponse> {
  const params = new URLSearchParams();
  for (const state of q.states ?? []) params.append("state", state);
  if (q.namespace) params.set("namespace", q.namespace);
  if (q.name) params.set("name", q.name);
  if (q.since) params.set("since", q.since);
  if (q.pageSize) params.set("pageSize", String(q.pageSize));
  if (q.pageToken) params.set("pageToken", q.pageToken);
  return call(`/api/v1/workflows?${params}`);
}

export const getInfo = (): Promise<ServerInfo> => call("/api/v1/info");

export const getWorkflow = (id: string): Promise<GetWorkflowStatusResponse> =>
  call(`/api/v1/workflows/${encodeURIComponent(id)}`);

export const cancelWorkflow = (id: string, reason: string): Promise<CancelWorkflowResponse> =>
  call(`/api/v1/workflows/${encodeURIComponent(id)}/cancel`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ reason }),
  });

export const listAgents = (): Promise<ListAgentsResponse> => call("/api/v1/agents");

export const getMetrics = (): Promise<GetEngineMetricsResponse> => call("/api/v1/metrics");
