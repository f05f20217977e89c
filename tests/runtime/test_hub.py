"""EventHub and Subscription: fan-out of committed events with a bounded backlog."""

from __future__ import annotations

import pytest

from dwe.server.engine.events import Event, WorkflowAdapted
from dwe.server.runtime.hub import EventHub, SubscriberOverflow


def event(seq: int, workflow_id: str = "w") -> Event:
    return WorkflowAdapted(workflow_id, seq, 0.0, "reordered", "", ())


async def test_a_subscriber_that_does_not_read_is_cut_off_after_its_backlog() -> None:
    hub = EventHub(backlog=3)
    idle, reader = hub.subscribe(), hub.subscribe(["w"])
    received = []
    for seq in (1, 2, 3):
        hub.publish([event(seq)])
        received += await reader.next_batch()
    assert not idle.overflowed  # exactly the backlog is still held

    hub.publish([event(4)])  # one more than the backlog

    assert idle.overflowed and idle.closed
    with pytest.raises(SubscriberOverflow):
        await idle.next_batch()
    # The reader never fell behind: it keeps receiving, before and after the cut.
    received += await reader.next_batch()
    hub.publish([event(5)])
    received += await reader.next_batch()
    assert [e.seq for e in received] == [1, 2, 3, 4, 5]
    with pytest.raises(SubscriberOverflow):  # the cut-off one stays cut off
        await idle.next_batch()


async def test_a_subscriber_within_its_backlog_gets_everything_in_one_batch() -> None:
    hub = EventHub(backlog=3)
    sub = hub.subscribe()
    hub.publish([event(1), event(2, "other"), event(3)])
    assert [(e.workflow_id, e.seq) for e in await sub.next_batch()] == [
        ("w", 1),
        ("other", 2),
        ("w", 3),
    ]


async def test_one_publish_past_the_backlog_cuts_off_at_once() -> None:
    hub = EventHub(backlog=2)
    sub = hub.subscribe(["w"])
    hub.publish([event(seq) for seq in (1, 2, 3)])
    with pytest.raises(SubscriberOverflow):
        await sub.next_batch()


async def test_closing_ends_a_subscription_without_an_error() -> None:
    hub = EventHub(backlog=2)
    sub = hub.subscribe()
    hub.unsubscribe(sub)
    hub.publish([event(1)])
    assert await sub.next_batch() == []
    assert hub.subscribers() == 0
