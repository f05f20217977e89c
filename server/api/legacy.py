"""Re-encoding events stored under the previous contract (schema version 2).

The previous WorkflowEvent shared detail messages between types: WORKFLOW_QUEUED
carried ``workflow_started`` (field 10), STEP_SKIPPED carried the step failure
(field 14) and the four terminal types carried ``workflow_finished`` (field 17,
now reserved). The store's v2 -> v3 migration passes every stored event
through ``upgrade_v2_event`` so that replays speak the current contract. The
old terminal detail has the same field numbers as ``RunSummary`` (its state,
field 1, is now implied by the type), so its bytes parse as one.
"""

from __future__ import annotations

import re

from google.protobuf.unknown_fields import UnknownFieldSet

from dwe.v1 import workflow_pb2

_OLD_FINISHED = 17
_TERMINAL = {
    "workflow_completed": "workflow_completed",
    "workflow_failed": "workflow_failed",
    "workflow_cancelled": "workflow_cancelled",
    "workflow_timed_out": "workflow_timed_out",
}
_DEPENDENCY = re.compile(r"dependency '(.+)' did not complete")


def upgrade_v2_event(type_name: str, data: bytes) -> bytes:
    """One stored event of the previous contract, re-encoded for the current one."""
    msg = workflow_pb2.WorkflowEvent.FromString(data)
    if type_name == "workflow_queued" and msg.WhichOneof("detail") == "workflow_started":
        msg.workflow_queued.ParseFromString(msg.workflow_started.SerializeToString())
    elif type_name == "step_skipped" and msg.WhichOneof("detail") == "step_attempt_failed":
        error = msg.step_attempt_failed.error
        found = _DEPENDENCY.search(error.message)
        msg.step_skipped.error.CopyFrom(error)
        msg.step_skipped.dependency = found.group(1) if found else ""
    elif type_name in _TERMINAL and msg.WhichOneof("detail") is None:
        old = [f.data for f in UnknownFieldSet(msg) if f.field_number == _OLD_FINISHED]
        detail = getattr(msg, _TERMINAL[type_name])
        detail.summary.ParseFromString(old[-1] if old else b"")
        msg.DiscardUnknownFields()
    return msg.SerializeToString()
