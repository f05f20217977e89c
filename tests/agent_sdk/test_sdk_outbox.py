"""Outbox batching: what one take() returns."""

import pytest

from dwe.agent_sdk import outbox as outbox_mod
from dwe.agent_sdk.outbox import Outbox
from dwe.v1 import agent_pb2, common_pb2


def _result(i: int, size: int = 1) -> agent_pb2.StepResult:
    return agent_pb2.StepResult(
        attempt_id=f"a{i}", output=common_pb2.Payload(encoding="json/plain", data=b"1" * size)
    )


async def test_take_returns_everything_pending_as_one_message() -> None:
    box = Outbox()
    assert box.take() is None
    box.add_started("a1")
    box.add_progress(agent_pb2.StepProgress(attempt_id="a1", content="x"), 1)
    box.add_result(_result(1), 1)
    box.add_started("a2")
    msg = box.take()
    assert msg is not None
    assert list(msg.started) == ["a1", "a2"]
    assert [p.content for p in msg.progress] == ["x"]
    assert [r.attempt_id for r in msg.results] == ["a1"]
    assert len(box) == 0 and box.take() is None


@pytest.mark.parametrize(("n", "messages"), [(1, 1), (2000, 1), (2001, 2), (4500, 3)])
async def test_take_splits_by_count(n: int, messages: int) -> None:
    box = Outbox()
    for i in range(n):
        box.add_result(_result(i))
    sizes = []
    while (msg := box.take()) is not None:
        sizes.append(len(msg.results))
    assert len(sizes) == messages and sum(sizes) == n
    assert max(sizes) <= outbox_mod.MAX_ITEMS_PER_MESSAGE


async def test_take_splits_by_bytes_and_keeps_order() -> None:
    box = Outbox()
    size = outbox_mod.MAX_BYTES_PER_MESSAGE // 3
    for i in range(7):
        box.add_result(_result(i, size), size)
    order = []
    while (msg := box.take()) is not None:
        assert sum(len(r.output.data) for r in msg.results) <= outbox_mod.MAX_BYTES_PER_MESSAGE
        order += [r.attempt_id for r in msg.results]
    assert order == [f"a{i}" for i in range(7)]


async def test_restore_puts_failed_write_back_first_and_discard_drops_attempts() -> None:
    box = Outbox()
    box.add_started("s")
    box.add_result(_result(1))
    msg = box.take()
    assert msg is not None
    box.add_result(_result(2))
    box.restore(msg)
    assert box.result_ids() == ["a1", "a2"]
    assert box.started == []  # started ids are not resent
    box.discard({"a1"})
    assert box.result_ids() == ["a2"]


async def test_a_result_waits_for_the_progress_of_its_attempt() -> None:
    """Progress the server gets after the result is dropped, so a result never
    overtakes progress of its attempt split over several messages."""
    box = Outbox()
    box.limit(max_message=512 * 1024, max_payload=200 * 1024)
    size = 200 * 1024
    for i in range(3):
        item = agent_pb2.StepProgress(
            attempt_id="a1",
            content=f"part {i}",
            data=common_pb2.Payload(encoding="json/plain", data=b"1" * size),
        )
        box.add_progress(item, size)
    box.add_result(_result(1, 10), 10)
    sent: list[str] = []
    while (msg := box.take()) is not None:
        assert sum(len(p.data.data) for p in msg.progress) <= max(box.max_bytes, size)
        sent += [p.content for p in msg.progress] + [f"result {r.attempt_id}" for r in msg.results]
    assert sent == ["part 0", "part 1", "part 2", "result a1"]


async def test_welcome_limits_shrink_messages() -> None:
    box = Outbox()
    box.limit(max_message=256 * 1024, max_payload=100)
    assert box.max_bytes == 128 * 1024 and box.max_payload == 100
    box.limit(max_message=0, max_payload=0)  # an older server says nothing
    assert box.max_bytes == 128 * 1024 and box.max_payload == 0


def _numbered(attempt_id: str, index: int) -> agent_pb2.StepProgress:
    return agent_pb2.StepProgress(attempt_id=attempt_id, content=f"p{index}", index=index)


def _sent(msg: agent_pb2.ConnectRequest | None) -> list[str]:
    assert msg is not None
    return [f"{p.attempt_id}:{p.index}" for p in msg.progress] + [
        f"{r.attempt_id}:result after {r.progress_count}" for r in msg.results
    ]


async def test_numbered_progress_is_kept_until_acknowledged_and_sent_again() -> None:
    box = Outbox()
    for i in (1, 2, 3):
        box.add_progress(_numbered("a", i), 1)
    box.add_result(_result(9), 1)  # another attempt, no progress
    box.add_result(agent_pb2.StepResult(attempt_id="a"), 1)
    assert _sent(box.take()) == ["a:1", "a:2", "a:3", "a9:result after 0", "a:result after 3"]
    box.acknowledge("a", 1)
    # The server lost 2 and 3 (a failed commit): it asks again after 1.
    box.resend({"a": 1})
    assert _sent(box.take()) == ["a:2", "a:3"]
    box.acknowledge("a", 3)
    assert box.unacked == {}


async def test_a_new_session_gets_what_it_lacks_and_nothing_else() -> None:
    box = Outbox()
    for attempt_id in ("held", "gone"):
        for i in (1, 2):
            box.add_progress(_numbered(attempt_id, i), 1)
    box.take()
    box.add_progress(_numbered("held", 3), 1)  # not sent yet when the stream broke
    box.welcomed(["held"], {"held": 1})
    assert _sent(box.take()) == ["held:2", "held:3"]
    assert list(box.unacked) == ["held"]
