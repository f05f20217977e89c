"""The HTTP port (issue 11): the dashboard's JSON API and its event stream, against a
real server and a real agent, with real HTTP (aiohttp's client)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from realkit import PyAgent, wait_for

from dwe.clients import DweClient
from dwe.clients.spec import build_workflow_spec
from dwe.server.app import DweServer, create_server
from dwe.server.auth import TokenKeys
from dwe.server.config import ServerConfig
from dwe.server.http import front
from dwe.server.security import InsecureBind
from dwe.v1 import enums_pb2, workflow_pb2
from tests.server.test_server_auth import _key_file, token

WORK = [{"step_id": "a", "agent_capability": "work"}]
CHAIN = [
    {"step_id": "a", "agent_capability": "work"},
    {"step_id": "s", "agent_capability": "stream", "dependencies": ["a"]},
]
BLOCK = [{"step_id": "g", "agent_capability": "block"}]


def base(server: DweServer) -> str:
    assert server.http is not None
    return f"http://127.0.0.1:{server.http.port}"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.get(url, **kw) as r:
        return r.status, orjson.loads(await r.read())


async def read_sse(response: aiohttp.ClientResponse, until: str) -> list[tuple[int, dict]]:
    """(id, event) of each SSE message until an event of type ``until`` arrives."""
    out: list[tuple[int, dict]] = []
    ident = 0
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("id: "):
            ident = int(line[4:])
        elif line.startswith("data: "):
            event = orjson.loads(line[6:])
            out.append((ident, event))
            if event["type"] == until:
                return out
    raise AssertionError(f"the stream ended before {until}: {out}")


async def read_raw(
    response: aiohttp.ClientResponse, count: int
) -> list[tuple[int, workflow_pb2.WorkflowEvent]]:
    """(id, event) of the first ``count`` messages of a format=proto stream."""
    out = []
    ident = 0
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("id: "):
            ident = int(line[4:])
        elif line.startswith("data: "):
            out.append((ident, workflow_pb2.WorkflowEvent.FromString(base64.b64decode(line[6:]))))
            if len(out) == count:
                return out
    raise AssertionError(f"the stream ended after {out}")


async def test_list_status_agents_metrics_and_info_are_proto_json(
    server: DweServer, client: DweClient, py_agent: PyAgent, http: aiohttp.ClientSession
) -> None:
    wid = (await client.create_workflow(build_workflow_spec("nightly", CHAIN))).workflow_id
    [e async for e in client.execute_workflow(wid)]

    status, listed = await get(http, f"{base(server)}/api/v1/workflows?state=completed")
    assert status == 200
    (row,) = listed["workflows"]
    assert (row["workflowId"], row["state"], row["name"]) == (
        wid,
        "WORKFLOW_STATE_COMPLETED",
        "nightly",
    )
    status, one = await get(http, f"{base(server)}/api/v1/workflows/{wid}")
    steps = {s["stepId"]: s for s in one["status"]["steps"]}
    assert steps["s"]["state"] == "STEP_STATE_COMPLETED" and steps["s"]["agentId"] == "py-agent"
    status, agents = await get(http, f"{base(server)}/api/v1/agents")
    (agent,) = agents["agents"]
    assert agent["agentId"] == "py-agent" and agent["failureRate"] == 0
    assert agent["meanDuration"].endswith("s") and agent["meanDuration"] != "0s"
    status, metrics = await get(http, f"{base(server)}/api/v1/metrics")
    assert status == 200 and "performanceMetrics" in metrics["metrics"]
    status, info = await get(http, f"{base(server)}/api/v1/info")
    assert info["namespaces"] == ["*"] and info["subject"] == ""


async def test_list_filters_by_name_and_time_and_bad_parameters_are_named(
    server: DweServer, client: DweClient, http: aiohttp.ClientSession
) -> None:
    first = (await client.create_workflow(build_workflow_spec("nightly", WORK))).workflow_id
    await client.create_workflow(build_workflow_spec("weekly", WORK))
    url = f"{base(server)}/api/v1/workflows"
    _, named = await get(http, f"{url}?name=night")
    assert [w["workflowId"] for w in named["workflows"]] == [first]
    _, later = await get(http, f"{url}?since=2999-01-01T00:00:00Z")
    assert later["workflows"] == []
    _, earlier = await get(http, f"{url}?until=2999-01-01T00:00:00Z&state=PENDING")
    assert len(earlier["workflows"]) == 2
    for query, field in (
        ("state=bogus", "state"),
        ("since=yesterday", "since"),
        ("pageSize=x", "pageSize"),
    ):
        status, body = await get(http, f"{url}?{query}")
        assert (status, body["code"]) == (400, "INVALID_ARGUMENT")
        assert body["message"].startswith(field)
    status, body = await get(http, f"{url}?name={'n' * 1001}")
    assert (status, body["code"]) == (400, "INVALID_ARGUMENT") and "name_prefix" in body["message"]


async def test_unknown_ids_and_routes_are_404_json(
    server: DweServer, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, f"{base(server)}/api/v1/workflows/nope")
    assert (status, body["code"]) == (404, "NOT_FOUND")
    status, body = await get(http, f"{base(server)}/api/v1/nothing-here")
    assert (status, body["code"]) == (404, "NOT_FOUND")
    async with http.get(f"{base(server)}/../../etc/passwd") as r:
        assert "root:" not in await r.text()  # the app's index or page, never a file outside


async def test_cancel_from_http_ends_the_workflow_cancelled(
    server: DweServer, client: DweClient, py_agent: PyAgent, http: aiohttp.ClientSession
) -> None:
    wid = (await client.create_workflow(build_workflow_spec("held", BLOCK))).workflow_id
    await client.start_workflow(wid)
    await asyncio.wait_for(py_agent.started.get(), 15)
    url = f"{base(server)}/api/v1/workflows/{wid}/cancel"
    async with http.post(url, json={"reason": "from the dashboard"}) as r:
        assert r.status == 200
        assert orjson.loads(await r.read())["cancelled"] is True
    async with http.post(url, data=b"{not json") as r:
        assert r.status == 400
    status = await client.get_workflow_status(wid)
    assert status.error_message == "from the dashboard"
    assert status.progress == 0.0  # cancelled before any step ended: no progress
    _, listed = await get(http, f"{base(server)}/api/v1/workflows/{wid}")
    assert listed["status"]["state"] == "WORKFLOW_STATE_CANCELLED"


async def test_events_stream_resumes_after_a_reconnect_with_no_gap_and_no_repeat(
    server: DweServer, client: DweClient, py_agent: PyAgent, http: aiohttp.ClientSession
) -> None:
    wid = (await client.create_workflow(build_workflow_spec("streamed", CHAIN))).workflow_id
    url = f"{base(server)}/api/v1/events?workflowId={wid}&afterPosition=0"
    async with http.get(url) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        await client.start_workflow(wid)
        first = await read_sse(r, "EVENT_TYPE_AGENT_STARTED")  # then the browser drops
    last_id = first[-1][0]
    async with http.get(url, headers={"Last-Event-ID": str(last_id)}) as r:
        rest = await read_sse(r, "EVENT_TYPE_WORKFLOW_COMPLETED")
    seqs = [int(e["seq"]) for _, e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1))  # every seq once, in order
    ids = [i for i, _ in first + rest]
    assert ids == sorted(set(ids)) and all(int(e["position"]) == i for i, e in first + rest)
    streamed = [e for _, e in first + rest if e["type"] == "EVENT_TYPE_AGENT_STREAM"]
    assert [e["stepStreamed"]["content"] for e in streamed] == ["one", "two"]


async def test_events_stream_filters_by_type_and_refuses_bad_filters_before_starting(
    server: DweServer, client: DweClient, py_agent: PyAgent, http: aiohttp.ClientSession
) -> None:
    types = "type=WORKFLOW_STARTED&type=EVENT_TYPE_WORKFLOW_COMPLETED"
    async with http.get(f"{base(server)}/api/v1/events?{types}&afterPosition=0") as r:
        wid = (await client.create_workflow(build_workflow_spec("only-ends", WORK))).workflow_id
        await client.start_workflow(wid)
        (_, started), (_, ended) = await read_sse(r, "EVENT_TYPE_WORKFLOW_COMPLETED")
    assert (started["workflowId"], ended["workflowId"]) == (wid, wid)
    # A list of every namespace tells a new run's namespace from its first event.
    assert started["workflowStarted"]["namespace"] == "default"
    proto = f"{base(server)}/api/v1/events?{types}&afterPosition=0&format=proto"
    async with http.get(proto) as r:
        (_, first), (_, last) = await read_raw(r, 2)
    assert (first.seq, first.workflow_started.namespace) == (int(started["seq"]), "default")
    assert last.type == enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED and last.workflow_id == wid
    status, body = await get(http, f"{base(server)}/api/v1/events?format=xml")
    assert (status, body["code"]) == (400, "INVALID_ARGUMENT")
    status, body = await get(http, f"{base(server)}/api/v1/events?type=nope")
    assert (status, body["code"]) == (400, "INVALID_ARGUMENT")
    status, body = await get(http, f"{base(server)}/api/v1/events?workflowId={'x' * 300}")
    assert (status, body["code"]) == (400, "INVALID_ARGUMENT")


async def test_with_auth_on_the_api_asks_for_a_token_and_keeps_to_its_namespaces(
    server_config: ServerConfig, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    key = _key_file(tmp_path)
    keys = TokenKeys(key)
    server = await create_server(dataclasses.replace(server_config, auth_key=key))
    try:
        url = f"{base(server)}/api/v1/workflows"
        async with http.get(url) as r:
            assert (r.status, r.headers["WWW-Authenticate"]) == (401, "Bearer")
        team = token(keys, "viewer", namespaces=("team-a",))
        status, body = await get(http, url, headers={"Authorization": f"Bearer {team}"})
        assert (status, body["workflows"]) == (200, [])
        status, info = await get(http, f"{base(server)}/api/v1/info?access_token={team}")
        assert info["namespaces"] == ["team-a"] and info["role"] == "viewer"
        status, body = await get(
            http, f"{url}?namespace=team-b", headers={"Authorization": f"Bearer {team}"}
        )
        assert (status, body["code"]) == (403, "PERMISSION_DENIED")
        events = f"{base(server)}/api/v1/events?namespace=team-b&access_token={team}"
        status, body = await get(http, events)
        assert (status, body["code"]) == (403, "PERMISSION_DENIED")
    finally:
        await server.stop(0.5)


async def test_the_dashboard_refuses_to_listen_beyond_loopback_without_tls_and_auth(
    server_config: ServerConfig,
) -> None:
    exposed = dataclasses.replace(server_config, http_host="0.0.0.0")
    with pytest.raises(InsecureBind, match="dashboard"):
        await create_server(exposed)


async def test_a_taken_default_port_falls_back_to_a_free_one_and_another_taken_port_fails(
    server: DweServer, server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert server.http is not None
    taken = server.http.port
    monkeypatch.setattr(front, "DEFAULT_HTTP_PORT", taken)
    second = await create_server(
        dataclasses.replace(server_config, db_path=str(tmp_path / "b.db"), http_port=taken)
    )
    try:
        assert second.http is not None and second.http.port not in (0, taken)
    finally:
        await second.stop(0.5)
    monkeypatch.setattr(front, "DEFAULT_HTTP_PORT", 8080)
    with pytest.raises(OSError, match=f"cannot serve HTTP on 127.0.0.1:{taken}"):
        await create_server(
            dataclasses.replace(server_config, db_path=str(tmp_path / "c.db"), http_port=taken)
        )


async def test_http_can_be_turned_off(server_config: ServerConfig) -> None:
    server = await create_server(dataclasses.replace(server_config, http_port=-1))
    try:
        assert server.http is None
        await wait_for(lambda: server.port > 0, 5, "listening")
    finally:
        await server.stop(0.5)


async def test_metrics_are_scraped_in_the_prometheus_text_format(
    server: DweServer, client: DweClient, py_agent: PyAgent, http: aiohttp.ClientSession
) -> None:
    wid = (await client.create_workflow(build_workflow_spec("scraped", WORK))).workflow_id
    [e async for e in client.execute_workflow(wid)]
    async with http.get(f"{base(server)}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await r.text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(len(line.rsplit(" ", 1)) == 2 for line in samples)
    assert any(line.startswith("# TYPE ") for line in text.splitlines())


async def test_a_live_stream_dropped_before_its_first_event_resumes_with_no_gap(
    server: DweServer, client: DweClient, py_agent: PyAgent, http: aiohttp.ClientSession
) -> None:
    url = f"{base(server)}/api/v1/events"
    async with http.get(url) as r:  # live only: its first id is where live events begin
        start = ""
        async for raw in r.content:
            if raw.startswith(b"id: "):
                start = raw.decode()[4:].strip()
                break
    assert start.isdigit()
    # Meanwhile, with the browser away, a whole run happens.
    wid = (await client.create_workflow(build_workflow_spec("missed", CHAIN))).workflow_id
    [e async for e in client.execute_workflow(wid)]
    async with http.get(url, headers={"Last-Event-ID": start}) as r:
        seen = await read_sse(r, "EVENT_TYPE_WORKFLOW_COMPLETED")
    seqs = [int(e["seq"]) for _, e in seen if e["workflowId"] == wid]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 4


async def test_headers_grpc_cannot_carry_are_refused_by_name(
    server: DweServer, http: aiohttp.ClientSession
) -> None:
    for path in ("api/v1/workflows", "api/v1/events"):
        for value in ("Bearer \u00e9t\u00e9", "Bearer a\tb"):
            headers = {"Authorization": value}
            status, body = await get(http, f"{base(server)}/{path}", headers=headers)
            assert (status, body["code"]) == (400, "INVALID_ARGUMENT")
            assert body["message"] == "Authorization: not printable ASCII"
