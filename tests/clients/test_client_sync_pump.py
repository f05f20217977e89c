"""How SyncDweClient hands a stream from its loop thread to the reader: bounded and ordered."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterator

import pytest

from dwe.clients.sync import _Pump

WINDOW = 4


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_a_reader_that_falls_behind_holds_the_stream_back(loop: asyncio.AbstractEventLoop) -> None:
    consumed = 0
    backlog: list[int] = []
    window_full = threading.Event()

    async def stream() -> AsyncGenerator[int, None]:
        for i in range(40):
            backlog.append(i - consumed)  # produced but not yet taken
            if i == WINDOW - 1:
                window_full.set()
            yield i

    pump: _Pump[int] = _Pump(window=WINDOW)
    done = asyncio.run_coroutine_threadsafe(pump.run(stream()), loop)
    assert window_full.wait(5)  # a full window is waiting before the reader starts
    seen = []
    for item in pump.items(loop):
        seen.append(item)
        consumed += 1
    assert seen == list(range(40))
    assert max(backlog) <= WINDOW
    done.result(5)


def test_a_stream_error_reaches_the_reader_after_the_items_before_it(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def stream() -> AsyncGenerator[int, None]:
        yield 1
        raise ConnectionError("broken")

    pump: _Pump[int] = _Pump(window=WINDOW)
    asyncio.run_coroutine_threadsafe(pump.run(stream()), loop)
    items = pump.items(loop)
    assert next(items) == 1
    with pytest.raises(ConnectionError, match="broken"):
        next(items)


def test_cancelling_the_pump_closes_the_stream(loop: asyncio.AbstractEventLoop) -> None:
    closed = threading.Event()

    async def stream() -> AsyncGenerator[int, None]:
        try:
            yield 1
            await asyncio.Event().wait()  # a live stream with nothing more to say
            yield 2
        finally:
            closed.set()

    pump: _Pump[int] = _Pump(window=WINDOW)
    future = asyncio.run_coroutine_threadsafe(pump.run(stream()), loop)
    assert next(pump.items(loop)) == 1
    future.cancel()
    pump.wait_closed(5)
    assert closed.is_set()
