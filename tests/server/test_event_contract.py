"""The event contract: one detail message per EventType, set by the server, mapped by the client."""

from __future__ import annotations

import pytest

from dwe.clients.events import DETAILS, EVENT_NAMES, event_to_dict
from dwe.server.api.event_codec import EVENT_TYPES, event_bytes
from dwe.server.engine import events as ev
from dwe.server.engine.model import Blob, ErrorInfo, ExecutionMode, Priority
from dwe.v1 import enums_pb2, workflow_pb2

ONEOF = workflow_pb2.WorkflowEvent.DESCRIPTOR.oneofs_by_name["detail"]
TYPES = [n for n in enums_pb2.EventType.values() if n != enums_pb2.EVENT_TYPE_UNSPECIFIED]
OUT = Blob("json/plain", b'{"ok":true}')
ERR = ErrorInfo("boom", "ValueError", True)
SUMMARY = ev.RunSummary(1.0, 2.5, {"a": OUT}, ("b",), 2, 0, 0, 0, 2, "")
STEP = ("w", 3, 10.0, "a", "A", 1, "agent-1")
RUN = ("w", 3, 10.0)
CTX = Blob("json/plain", b'{"account_id":"ACC-1"}')
SAMPLES: list[ev.Event] = [
    ev.WorkflowStarted(*RUN, "n", "s", CTX, 4, ExecutionMode.ADAPTIVE, Priority.HIGH),
    ev.WorkflowQueued(*RUN, "n", "s", CTX, 4, ExecutionMode.PARALLEL, Priority.LOW),
    ev.WorkflowAdapted(*RUN, "reordered", "critical path", ("b", "a")),
    ev.StepAssigned(*STEP, "do a", "analysis"),
    ev.StepStreamed(*STEP, "half way", OUT),
    ev.StepCompleted(*STEP, OUT, 1.5),
    ev.StepAttemptFailed(*STEP, ERR, True, 0.5),
    ev.StepRetrying(*STEP, 2, 1.0, "boom"),
    ev.StepSkipped(*STEP, ErrorInfo("dependency 'x' did not complete", "Skipped", False), "x"),
    ev.WorkflowCompleted(*RUN, SUMMARY),
    ev.WorkflowFailed(*RUN, SUMMARY),
    ev.WorkflowCancelled(*RUN, SUMMARY),
    ev.WorkflowTimedOut(*RUN, SUMMARY),
]


def test_every_event_type_has_exactly_one_detail_field() -> None:
    assert sorted(DETAILS) == sorted(TYPES)
    fields = [field for field, _ in DETAILS.values()]
    assert len(set(fields)) == len(fields), "two event types share a detail"
    assert sorted(fields) == sorted(f.name for f in ONEOF.fields)


def test_every_domain_event_class_is_one_event_type() -> None:
    assert sorted(EVENT_TYPES[cls.type] for cls in ev.EVENT_CLASSES.values()) == sorted(TYPES)
    assert sorted(type(e).__name__ for e in SAMPLES) == sorted(
        cls.__name__ for cls in ev.EVENT_CLASSES.values()
    )


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_server_sets_the_detail_the_client_maps(event: ev.Event) -> None:
    msg = workflow_pb2.WorkflowEvent.FromString(event_bytes(event))
    field, _ = DETAILS[msg.type]
    assert msg.WhichOneof("detail") == field
    as_dict = event_to_dict(msg)
    assert as_dict["event"] == EVENT_NAMES[msg.type] == event.type.value
    assert as_dict["seq"] == 3 and as_dict["workflow_id"] == "w"
    detail = {k: v for k, v in as_dict["data"].items() if k != "workflow_id"}
    assert detail, f"{as_dict['event']} maps to no data"
    if isinstance(event, ev.StepEvent):
        assert (as_dict["data"]["step"], as_dict["data"]["attempt"]) == ("a", 1)


def test_terminal_events_carry_the_guides_final_output() -> None:
    msg = workflow_pb2.WorkflowEvent.FromString(event_bytes(SAMPLES[-4]))
    data = event_to_dict(msg)["data"]
    assert data["state"] == "completed"
    final = data["final_output"]
    assert final["success_rate"] == 1.0 and final["total_execution_time"] == 2.5
    assert final["results"] == {"a": {"ok": True}}
    assert final["omitted_results"] == ["b"]
