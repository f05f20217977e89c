"""``dwe run`` and ``dwe watch``: start or follow a workflow and show its events.

Three outputs of one event stream: the live step table when stdout is a terminal
(``cli/live.py``), one plain line per event otherwise, and with ``--json`` NDJSON
in which every line has the shape of an event (:data:`JSON_WATCH_HELP`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from dwe.cli import render
from dwe.cli.commands import json_object, load_workflow_file, open_client, out
from dwe.clients.errors import DweError, ValidationError
from dwe.clients.events import TERMINAL_EVENTS, event_to_dict, status_to_dict
from dwe.clients.sync import SyncDweClient
from dwe.v1 import enums_pb2, workflow_pb2

__all__ = ["JSON_WATCH_HELP", "cmd_run", "cmd_watch", "created_event"]

JSON_WATCH_HELP = """\
output of --watch:
  on a terminal: a live table, one row per step (state, agent, attempt, time,
    progress, last streamed line) under the workflow's name, id, state and
    elapsed time; else one line per event
  --json: NDJSON, every line one event object of the same shape:
    {"event": NAME, "workflow_id": ID, "seq": N, "timestamp": EPOCH, "data": {...}}
    `dwe run` starts with its own "workflow_created" event (seq 0; data: created,
    namespace, and intent with --intent), then the server's events (seq 1, 2, ...)
    up to the terminal one (workflow_completed/failed/cancelled/timed_out)
  exit code: 0 if the workflow completed, 1 otherwise (docs/cli.md)"""


def created_event(workflow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The CLI's first line of ``dwe run --json --watch``: an event like the server's,
    seq 0 because it is not one of the workflow's stored events."""
    return {
        "event": "workflow_created",
        "workflow_id": workflow_id,
        "seq": 0,
        "timestamp": time.time(),
        "data": {"workflow_id": workflow_id, **data},
    }


def cmd_run(args: argparse.Namespace) -> int:
    from dwe.clients.spec import workflow_spec_from_dict

    if (args.file is None) == (args.intent is None):
        raise ValidationError("give a workflow FILE or --intent MESSAGE (exactly one)")
    context = json_object(args.context, "--context")
    if args.intent is not None:
        return _run_intent(args, context)
    spec = workflow_spec_from_dict(load_workflow_file(args.file))
    with open_client(args) as client:
        created = client.create_workflow(spec, args.request_id)
        wid = created.workflow_id
        row = {"created": created.created, "namespace": created.status.namespace}
        # A retry of an earlier run with this request id: follow it, don't start it again.
        again = not created.created and created.status.state != enums_pb2.WORKFLOW_STATE_PENDING
        if not args.watch:
            out(args, {"workflow_id": wid, **row}, wid)
            if not again:
                client.start_workflow(wid, context, args.session_id)
            return 0
        steps = _status(client, wid)  # before the start, so the table has every step
        if again:
            events = client.watch_workflow(wid, 0)
        else:
            events = client.execute_workflow(wid, context, args.session_id)
        return _follow(args, steps, events, created_event(wid, row), wid)


def _run_intent(args: argparse.Namespace, context: Any) -> int:
    with open_client(args) as client:
        started = client.start_intent(args.intent, context, args.session_id, args.request_id)
        intent = started.intent
        wid = started.workflow_id
        summary = {
            "intent": intent.primary_intent,
            "confidence": intent.confidence,
            "entities": dict(intent.entities),
        }
        entities = ", ".join(f"{k}={v}" for k, v in sorted(intent.entities.items()))
        human = f"{wid}  (intent {intent.primary_intent} at {intent.confidence:.2f}; {entities})"
        if not args.watch:
            out(args, {"workflow_id": wid, **summary}, human)
            return 0
        steps = _status(client, wid)
        row = {"created": True, "namespace": client.namespace, "intent": summary}
        head = created_event(wid, row)
        return _follow(args, steps, client.watch_workflow(wid, 0), head, human)


def cmd_watch(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        steps = _status(client, args.workflow_id)
        return _follow(args, steps, client.watch_workflow(args.workflow_id, args.after_seq))


def _status(client: SyncDweClient, workflow_id: str) -> dict[str, Any] | None:
    """The step list of the live view (one GetWorkflowStatus), only when it is shown."""
    if not sys.stdout.isatty():
        return None
    return status_to_dict(client.get_workflow_status(workflow_id))


def _follow(
    args: argparse.Namespace,
    status: dict[str, Any] | None,
    protos: Iterator[workflow_pb2.WorkflowEvent],
    head: dict[str, Any] | None = None,
    human_head: str | None = None,
) -> int:
    """Shows the events to the terminal one; 0 when the workflow completed, else 1.

    ``head`` is the first NDJSON line under --json; ``human_head`` the first plain line.
    """
    events = (event_to_dict(p) for p in protos)
    if args.json:
        last = _print_lines(events, render.to_json_line, head)
    elif status is not None:
        from dwe.cli.board import Board
        from dwe.cli.live import follow_live

        last = follow_live(Board.from_status(status), events)
        if last is not None:  # the outcome stays readable after the table
            print(render.format_event(last), flush=True)
    else:
        if human_head is not None:
            print(human_head, flush=True)
        last = _print_lines(events, render.format_event)
    if last is None:
        raise DweError("the event stream ended before the workflow did")
    return 0 if last["event"] == "workflow_completed" else 1


def _print_lines(
    events: Iterable[dict[str, Any]], line: Any, head: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """One line per event; returns the terminal event (None if the stream ended first)."""
    if head is not None:
        print(line(head), flush=True)
    for event in events:
        print(line(event), flush=True)
        if event["event"] in TERMINAL_EVENTS:
            return event
    return None
