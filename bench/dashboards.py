"""Open dashboards, as the server sees them: ``python -m bench.dashboards URL N EXPECT``.

Each of the N does what the dashboard's workflows page does when a browser opens it:
reads /api/v1/info and the first page of the list, then follows the workflow-level
events over SSE and decodes each one. It prints ``open`` once every stream is
accepted; each dashboard closes after EXPECT events (or all when stdin closes); then
it prints ``events N``, how many they decoded in all, and exits.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys

import aiohttp
import orjson

from dwe.v1.workflow_pb2 import WorkflowEvent

#: The dashboard asks for the committed bytes (format=proto) and decodes them itself.
FORMAT = os.environ.get("BENCH_DASHBOARD_FORMAT", "proto")
#: The workflows page's stream: workflow-level events only (dashboard/src/workflows).
TYPES = "&".join(
    f"type=WORKFLOW_{t}"
    for t in ("STARTED", "QUEUED", "ADAPTED", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
)


async def _dashboard(
    session: aiohttp.ClientSession,
    url: str,
    opened: asyncio.Queue[None],
    count: list[int],
    expect: int,
) -> None:
    for path in ("api/v1/info", "api/v1/workflows?pageSize=200"):
        async with session.get(url + path) as r:
            r.raise_for_status()
            orjson.loads(await r.read())
    async with session.get(f"{url}api/v1/events?{TYPES}&format={FORMAT}") as r:
        r.raise_for_status()
        opened.put_nowait(None)
        seen = 0
        async for line in r.content:
            if line.startswith(b"data: "):
                if FORMAT == "json":
                    orjson.loads(line[6:])
                else:
                    WorkflowEvent.FromString(base64.b64decode(line[6:]))
                count[0] += 1
                seen += 1
                if seen == expect:
                    return


async def main(url: str, n: int, expect: int) -> None:
    opened: asyncio.Queue[None] = asyncio.Queue()
    count = [0]
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = [
            asyncio.create_task(_dashboard(session, url, opened, count, expect)) for _ in range(n)
        ]
        for _ in range(n):
            await opened.get()
        print("open", flush=True)
        closed = asyncio.ensure_future(asyncio.to_thread(sys.stdin.read))
        every = asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.wait([closed, every], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await every
    print(f"events {count[0]}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
