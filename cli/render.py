"""Human-readable lines for the CLI: events, statuses, metrics, agents and workflow lists."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import orjson

__all__ = [
    "format_agents",
    "format_event",
    "format_metrics",
    "format_status",
    "format_workflows",
    "to_json_line",
]


def to_json_line(obj: Any) -> str:
    """One compact JSON line (bytes payloads become strings)."""
    return orjson.dumps(obj, default=_fallback, option=orjson.OPT_NON_STR_KEYS).decode()


def _fallback(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(type(obj).__name__)


def _seconds(value: float | None) -> str:
    return f"{value:.2f}s" if value else "-"


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _compact(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else to_json_line(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_event(event: dict[str, Any]) -> str:
    """One line per event, e.g. ``[seq 3] agent_started  fetch  (agent scout) Fetch data``."""
    name, data = event["event"], event.get("data") or {}
    head = f"[seq {event.get('seq', 0)}] {name}"
    step = data.get("step_id") or ""
    agent = f"(agent {data['agent_id']})" if data.get("agent_id") else ""
    if name in ("workflow_started", "workflow_queued"):
        rest = (
            f"{data.get('name', '')}  ({data.get('total_steps', 0)} steps, "
            f"{data.get('execution_mode')}, {data.get('priority')})"
        )
    elif name == "agent_started":
        task = data.get("task", "")
        rest = f"{step}  {agent}" + (f" {task}" if task and task != step else "")
    elif name == "agent_stream":
        content = data.get("content") or _compact(data.get("data"))
        rest = f"{step}  {content}"
    elif name == "agent_completed":
        rest = f"{step}  {agent} in {_seconds(data.get('execution_time'))}"
    elif name in ("agent_error", "step_skipped"):
        retry = "  (will retry)" if data.get("will_retry") else ""
        kind = f"{data['error_type']}: " if data.get("error_type") else ""
        rest = f"{step}  {agent} {kind}{data.get('error_message', '')}{retry}"
    elif name == "agent_retrying":
        rest = (
            f"{step}  attempt {data.get('next_attempt')} in {data.get('delay', 0):.2f}s"
            f"  {data.get('reason', '')}"
        )
    elif name == "workflow_adapted":
        steps = ", ".join(data.get("step_ids", []))
        rest = f"{data.get('decision')}: {data.get('reason')}  {steps}"
    elif "final_output" in data:
        final = data["final_output"]
        rest = (
            f"{data.get('state')}  success rate {final.get('success_rate', 0):.1%}  "
            f"total {_seconds(final.get('total_execution_time'))}  "
            f"{final.get('completed_steps', 0)}/{final.get('total_steps', 0)} steps"
        )
        if data.get("error_message"):
            rest += f"  error: {data['error_message']}"
    else:
        rest = ""
    return f"{head}  {rest}".rstrip()


def format_status(status: dict[str, Any]) -> str:
    """A multi-line summary of a workflow status dict."""
    # The status' own progress counts every finished step, cancelled and skipped ones
    # too, so a cancelled run would read 100%: show the completed ones instead.
    steps = status.get("steps", [])
    done = sum(1 for s in steps if s.get("state") == "completed")
    share = f" ({done / len(steps):.1%})" if steps else ""
    lines = [
        f"workflow   {status['workflow_id']}  {status.get('name', '')}",
        f"state      {status['state']}  {done}/{len(steps)} steps completed{share}"
        f"  current step {status.get('current_step') or '-'}",
        f"time       {_seconds(status.get('total_execution_time'))}"
        f"  created {_when(status.get('created_at'))}"
        f"  finished {_when(status.get('finished_at'))}  last seq {status.get('last_seq', 0)}",
        f"namespace  {status.get('namespace') or '-'}",
    ]
    if status.get("error_message"):
        lines.append(f"error      {status['error_message']}")
    lines.append("steps:")
    for step in status.get("steps", []):
        line = (
            f"  {step['step_id']:<24} {step['state'] or '-':<11}"
            f" attempts {step.get('attempts', 0)}  {_seconds(step.get('execution_time'))}"
            f"  agent {step.get('agent_id') or '-'}"
        )
        if step.get("error_message"):
            line += f"  error: {step['error_message']}"
        lines.append(line)
    return "\n".join(lines)


def format_metrics(metrics: dict[str, Any]) -> str:
    """Key/value lines of an engine metrics dict; series show their last values."""
    lines = []
    for key, value in metrics.items():
        if key == "performance_metrics":
            for name, series in sorted(value.items()):
                tail = ", ".join(f"{v:g}" for v in series[-10:])
                lines.append(f"{'series ' + name:<28} [{tail}]")
        elif isinstance(value, dict):
            inner = ", ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in sorted(value.items())
            )
            lines.append(f"{key:<28} {inner or '-'}")
        else:
            lines.append(
                f"{key:<28} {value:g}" if isinstance(value, float) else f"{key:<28} {value}"
            )
    return "\n".join(lines)


def format_agents(agents: Iterable[dict[str, Any]]) -> str:
    """A table of agents."""
    lines = [f"{'AGENT':<24} {'TYPE':<20} {'NAMESPACE':<12} {'STATE':<12} {'LOAD':<7} CAPABILITIES"]
    for a in agents:
        state = "connected" if a["connected"] else "registered"
        load = f"{a['current_load']}/{a['max_concurrent_tasks']}"
        lines.append(
            f"{a['agent_id']:<24} {a['agent_type']:<20} {a.get('namespace') or '-':<12} "
            f"{state:<12} {load:<7} {', '.join(a['capabilities'])}"
        )
    return "\n".join(lines)


def format_workflows(rows: Iterable[dict[str, Any]]) -> str:
    """A table of workflow summaries."""
    lines = [f"{'WORKFLOW':<36} {'NAMESPACE':<12} {'STATE':<10} {'STEPS':<7} {'CREATED':<19} NAME"]
    for w in rows:
        steps = f"{w['completed_steps']}/{w['total_steps']}"
        lines.append(
            f"{w['workflow_id']:<36} {w.get('namespace') or '-':<12} {w['state'] or '-':<10} "
            f"{steps:<7} {_when(w.get('created_at')):<19} {w['name']}"
        )
    return "\n".join(lines)
