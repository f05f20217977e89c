// Errors: gRPC failures with their code name, and the ones handlers throw.
import { status } from "@grpc/grpc-js";

/** A gRPC failure carrying the status code name, e.g. "INVALID_ARGUMENT". */
export class DweError extends Error {
  /** The gRPC status code name ("NOT_FOUND", "UNAVAILABLE", ...). */
  readonly code: string;
  /** The numeric gRPC status code. */
  readonly grpcCode: number;
  /** The server's message (the grpc-message trailer). */
  readonly details: string;
  /** The workflow of a batch item's error (ExecuteWorkflows); "" otherwise. */
  readonly workflowId: string;

  constructor(err: { code?: number; details?: string; message?: string; workflowId?: string }) {
    const details = err.details || err.message || "";
    super(details);
    this.name = "DweError";
    this.grpcCode = err.code ?? status.UNKNOWN;
    this.code = codeName(this.grpcCode);
    this.details = details;
    this.workflowId = err.workflowId ?? "";
  }

  /** A batch item's error (an ItemError) as the error its single call would have thrown:
   * the same `code` name and `details`, and its `workflowId`. */
  static fromItem(item: { code: number; message: string; workflowId?: string }): DweError {
    return new DweError({ code: item.code, details: item.message, workflowId: item.workflowId });
  }
}

/** The name of a numeric gRPC status code ("UNKNOWN" for an unknown one). */
export function codeName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? "UNKNOWN";
}

/**
 * Throw from a handler to fail the step at once, whatever retries remain.
 * Any other error is reported as retryable. Subclasses keep this meaning.
 */
export class NonRetryableError extends Error {
  constructor(message?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A payload over the server's payload limit (Welcome.max_payload_bytes); not retried. */
export class PayloadTooLarge extends NonRetryableError {}

/** The agent definition is invalid (no capabilities, a capability without handler, ...). */
export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentConfigError";
  }
}

/** Says what, how big, and which server setting bounds it (as the Python SDK does). */
export function tooLargeMessage(what: string, size: number, limit: number): string {
  return `${what} is ${size} bytes, over the server's payload limit of ${limit} bytes (its --max-payload-bytes)`;
}
