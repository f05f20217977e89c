"""Events stored under the previous contract are re-encoded for the current one (v2 -> v3)."""

from __future__ import annotations

from dwe.clients.events import event_to_dict
from dwe.server.api.legacy import upgrade_v2_event
from dwe.v1 import enums_pb2, workflow_pb2


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _old_terminal(event_type: int) -> bytes:
    """A terminal event as the previous contract stored it: detail in field 17, with a state."""
    summary = workflow_pb2.RunSummary(success_rate=0.5, completed_steps=1, total_steps=2)
    summary.results["a"].encoding = "json/plain"
    summary.results["a"].data = b'{"x":1}'
    summary.error_message = "step 'b' failed: boom"
    old_detail = b"\x08\x05" + summary.SerializeToString()  # field 1: the state (FAILED)
    head = workflow_pb2.WorkflowEvent(workflow_id="w", seq=7, type=event_type)
    return head.SerializeToString() + b"\x8a\x01" + _varint(len(old_detail)) + old_detail


def test_terminal_detail_moves_to_its_own_field() -> None:
    raw = _old_terminal(enums_pb2.EVENT_TYPE_WORKFLOW_FAILED)
    msg = workflow_pb2.WorkflowEvent.FromString(upgrade_v2_event("workflow_failed", raw))
    assert msg.WhichOneof("detail") == "workflow_failed"
    data = event_to_dict(msg)["data"]
    assert data["state"] == "failed" and data["error_message"] == "step 'b' failed: boom"
    assert data["final_output"]["results"] == {"a": {"x": 1}}
    assert data["final_output"]["success_rate"] == 0.5


def test_queued_and_skipped_details_move_to_their_own_fields() -> None:
    queued = workflow_pb2.WorkflowEvent(
        workflow_id="w", seq=1, type=enums_pb2.EVENT_TYPE_WORKFLOW_QUEUED
    )
    queued.workflow_started.name = "N"  # field 10 served both types before
    msg = workflow_pb2.WorkflowEvent.FromString(
        upgrade_v2_event("workflow_queued", queued.SerializeToString())
    )
    assert msg.WhichOneof("detail") == "workflow_queued" and msg.workflow_queued.name == "N"

    skipped = workflow_pb2.WorkflowEvent(
        workflow_id="w", seq=4, type=enums_pb2.EVENT_TYPE_STEP_SKIPPED
    )
    skipped.step_attempt_failed.error.message = "dependency 'a' did not complete"
    msg = workflow_pb2.WorkflowEvent.FromString(
        upgrade_v2_event("step_skipped", skipped.SerializeToString())
    )
    assert msg.WhichOneof("detail") == "step_skipped"
    assert msg.step_skipped.dependency == "a"


def test_events_already_in_the_current_form_are_unchanged() -> None:
    current = workflow_pb2.WorkflowEvent(
        workflow_id="w", seq=2, type=enums_pb2.EVENT_TYPE_AGENT_STARTED
    )
    current.step_assigned.task = "t"
    raw = current.SerializeToString()
    assert upgrade_v2_event("agent_started", raw) == raw
