"""The dashboard in a real browser (issue 11): Playwright drives Debian's Chromium
against a real server (its HTTP port serves the built dashboard and the API) and a
real agent whose slow step waits for the test to release it.

Every wait is on the page (Playwright's ``expect`` with a timeout) or on the agent's
own signal; nothing sleeps. Screenshots go to ``DWE_SCREENSHOT_DIR`` (default: the
test's tmp folder); with ``DWE_DOCS_SCREENSHOT=1`` (``make dashboard-screenshot``)
the README's docs/images/dashboard.png is written too.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dwe.agent_sdk import Agent, Task
from dwe.clients.engine import DynamicWorkflowEngine
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.auth import Claims, TokenKeys
from dwe.server.embedded import EmbeddedServer

CHROMIUM = (
    os.environ.get("DWE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
if not CHROMIUM:
    pytest.skip(
        "SKIPPED: the dashboard browser test needs Debian's Chromium "
        "(apt-get install chromium, or DWE_CHROMIUM=/path/to/chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 20_000
T = TypeVar("T")

# Ten steps: s05 is the slow one; s07 and what follows wait for it.
STEPS: list[dict[str, Any]] = [
    {"step_id": "s01", "agent_capability": "work"},
    {"step_id": "s02", "agent_capability": "work", "dependencies": ["s01"]},
    {"step_id": "s03", "agent_capability": "work", "dependencies": ["s01"]},
    {"step_id": "s04", "agent_capability": "work", "dependencies": ["s01"]},
    {"step_id": "s05", "agent_capability": "slow", "dependencies": ["s02"]},
    {"step_id": "s06", "agent_capability": "work", "dependencies": ["s03", "s04"]},
    {"step_id": "s07", "agent_capability": "work", "dependencies": ["s05", "s06"]},
    {"step_id": "s08", "agent_capability": "work", "dependencies": ["s07"]},
    {"step_id": "s09", "agent_capability": "work", "dependencies": ["s07"]},
    {"step_id": "s10", "agent_capability": "work", "dependencies": ["s08", "s09"]},
]


class Backdrop:
    """An event loop on its own thread for the agent and the client: Playwright's sync
    API runs a loop of its own in the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class SlowAgent:
    """A real agent: ``work`` streams a line and returns its step id; ``slow`` streams a
    line, then waits until the test opens the gate its context names."""

    def __init__(self, backdrop: Backdrop) -> None:
        self.backdrop = backdrop
        self.gates: dict[str, asyncio.Event] = {}
        self.agent = Agent("dash-agent", "py", ["work", "slow"], 8, graceful_timeout=2.0)

        @self.agent.handler("work")
        async def work(task: Task) -> dict[str, Any]:
            await task.stream(f"{task.step_id} at work")
            return {"step": task.step_id, "inputs": sorted(task.inputs)}

        @self.agent.handler("slow")
        async def slow(task: Task) -> dict[str, Any]:
            await task.stream("waiting for the test")
            await self.gate(str(task.context["gate"])).wait()
            return {"released": task.step_id}

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    def release(self, name: str) -> None:
        self.backdrop.loop.call_soon_threadsafe(self.gate(name).set)


@pytest.fixture
def backdrop() -> Iterator[Backdrop]:
    b = Backdrop()
    yield b
    b.close()


@pytest.fixture
def dwe_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(db_path=str(tmp_path / "dwe.db"), port=0, http_port=0).start()
    yield server
    server.stop()


@pytest.fixture
def agent(backdrop: Backdrop, dwe_server: EmbeddedServer) -> Iterator[SlowAgent]:
    async def make() -> SlowAgent:  # its asyncio objects belong to the backdrop's loop
        return SlowAgent(backdrop)

    slow = backdrop.run(make())
    serving = backdrop.submit(slow.agent.serve(dwe_server.address))
    backdrop.run(asyncio.wait_for(slow.agent.connected.wait(), 15))
    yield slow
    for name in list(slow.gates):
        slow.release(name)
    backdrop.loop.call_soon_threadsafe(slow.agent.stop)
    serving.result(15)


@pytest.fixture
def engine(backdrop: Backdrop, dwe_server: EmbeddedServer) -> Iterator[DynamicWorkflowEngine]:
    e = DynamicWorkflowEngine(dwe_server.address)
    yield e
    e.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1440, "height": 960})
        yield context.new_page()
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DWE_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def node(page: Page, step_id: str) -> Any:
    return page.locator(f'[data-testid="dag-node"][data-step-id="{step_id}"]')


def test_dashboard_follows_a_run_and_cancels_another(
    page: Page,
    dwe_server: EmbeddedServer,
    agent: SlowAgent,
    engine: DynamicWorkflowEngine,
    backdrop: Backdrop,
    shots: Path,
) -> None:
    http = dwe_server.server.http
    assert http is not None, "the server was started without its HTTP port"
    first = backdrop.run(engine.create_workflow("report", steps=STEPS, context={"gate": "first"}))
    second = backdrop.run(
        engine.create_workflow(
            "to-cancel",
            steps=[
                {"step_id": "hold", "agent_capability": "slow"},
                {"step_id": "after", "agent_capability": "work", "dependencies": ["hold"]},
            ],
            context={"gate": "second"},
        )
    )

    # The list shows both, then follows the first one's start without a reload.
    page.goto(http.url)
    page.evaluate("window.__notReloaded = true")
    rows = page.get_by_test_id("workflow-row")
    expect(rows.and_(page.locator(f'[data-workflow-id="{first.workflow_id}"]'))).to_be_visible(
        timeout=WAIT_MS
    )
    expect(rows.and_(page.locator(f'[data-workflow-id="{second.workflow_id}"]'))).to_be_visible()
    page.locator(f'[data-workflow-id="{first.workflow_id}"] a').click()

    # Every node is PENDING before the run starts.
    nodes = page.get_by_test_id("dag-node")
    expect(nodes).to_have_count(10, timeout=WAIT_MS)
    expect(page.locator('[data-testid="dag-node"][data-state="PENDING"]')).to_have_count(10)
    expect(page.get_by_test_id("workflow-state")).to_have_attribute("data-state", "PENDING")

    backdrop.run(engine.start_workflow(first.workflow_id))
    expect(node(page, "s05")).to_have_attribute("data-state", "RUNNING", timeout=WAIT_MS)
    expect(node(page, "s01")).to_have_attribute("data-state", "COMPLETED", timeout=WAIT_MS)
    expect(node(page, "s06")).to_have_attribute("data-state", "COMPLETED", timeout=WAIT_MS)
    expect(node(page, "s10")).to_have_attribute("data-state", "PENDING")
    expect(page.get_by_test_id("workflow-state")).to_have_attribute("data-state", "RUNNING")
    page.screenshot(path=str(shots / "workflow-running.png"), full_page=True)
    if os.environ.get("DWE_DOCS_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "images" / "dashboard.png"))

    # The drawer of a finished step shows its output; the slow one its streamed line.
    node(page, "s03").click()
    drawer = page.get_by_test_id("step-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_test_id("step-output")).to_contain_text('"step": "s03"')
    expect(drawer.get_by_test_id("step-stream")).to_contain_text("s03 at work")
    page.screenshot(path=str(shots / "step-drawer.png"))
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    node(page, "s05").click()
    expect(drawer.get_by_test_id("step-stream")).to_contain_text("waiting for the test")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # Released, the rest runs to the end, still without a reload.
    agent.release("first")
    expect(page.locator('[data-testid="dag-node"][data-state="COMPLETED"]')).to_have_count(
        10, timeout=WAIT_MS
    )
    expect(page.get_by_test_id("workflow-state")).to_have_attribute(
        "data-state", "COMPLETED", timeout=WAIT_MS
    )
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(shots / "workflow-completed.png"), full_page=True)

    # The second one is cancelled from its page while its slow step runs.
    backdrop.run(engine.start_workflow(second.workflow_id))
    page.get_by_role("link", name="Workflows").first.click()
    page.locator(f'[data-workflow-id="{second.workflow_id}"] a').click()
    expect(node(page, "hold")).to_have_attribute("data-state", "RUNNING", timeout=WAIT_MS)
    page.get_by_test_id("cancel-workflow").click()
    expect(page.get_by_test_id("cancel-result")).to_contain_text(re.compile("Cancelled"))
    expect(page.get_by_test_id("workflow-state")).to_have_attribute(
        "data-state", "CANCELLED", timeout=WAIT_MS
    )
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(shots / "workflow-cancelled.png"), full_page=True)

    # Both ended rows in the live list, then the agents and metrics pages.
    page.get_by_role("link", name="Workflows").first.click()
    for wid, state in ((first.workflow_id, "COMPLETED"), (second.workflow_id, "CANCELLED")):
        badge = page.locator(f'[data-workflow-id="{wid}"] [data-state]')
        expect(badge).to_have_attribute("data-state", state, timeout=WAIT_MS)
    page.screenshot(path=str(shots / "workflows.png"), full_page=True)
    page.get_by_role("link", name="Agents").click()
    expect(page.locator('[data-testid="agent-row"][data-agent-id="dash-agent"]')).to_be_visible(
        timeout=WAIT_MS
    )
    page.screenshot(path=str(shots / "agents.png"), full_page=True)
    page.get_by_role("link", name="Metrics").click()
    expect(page.get_by_test_id("chart-steps_per_second")).to_be_visible(timeout=WAIT_MS)
    page.screenshot(path=str(shots / "metrics.png"), full_page=True)
    assert page.evaluate("window.__notReloaded") is True


def test_the_list_loads_fast_and_stays_live_with_1000_workflows_running(
    page: Page,
    dwe_server: EmbeddedServer,
    agent: SlowAgent,
    engine: DynamicWorkflowEngine,
    backdrop: Backdrop,
    shots: Path,
    record_property: Any,
) -> None:
    """Issue 11: 1,000 running workflows (8 in the agent's slots, the rest waiting for
    one); the page's load time is measured and reported, not asserted."""
    http = dwe_server.server.http
    assert http is not None
    hold = [{"step_id": "hold", "agent_capability": "slow"}]

    async def submit(i: int) -> str:
        made = await engine.create_workflow(f"load-{i:04d}", steps=hold, context={"gate": "load"})
        await engine.start_workflow(made.workflow_id)
        return str(made.workflow_id)

    async def submit_all() -> list[str]:
        ids: list[str] = []
        for start in range(0, 1000, 100):
            ids += await asyncio.gather(*(submit(i) for i in range(start, start + 100)))
        return ids

    ids = backdrop.run(submit_all(), timeout=120)
    running = backdrop.run(engine.list_workflows_async(states=["running"], limit=1000))
    assert len(running) == 1000

    page.goto(http.url)
    page.evaluate("window.__notReloaded = true")
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=workflow-row]').length >= 200", timeout=WAIT_MS
    )
    loaded_ms = float(page.evaluate("performance.now()"))  # since the navigation began
    record_property("dashboard_list_load_ms", round(loaded_ms))
    print(f"\ndashboard list with 1,000 running workflows loaded in {loaded_ms:.0f} ms")
    newest = page.locator(f'[data-workflow-id="{ids[-1]}"] [data-state]')
    expect(newest).to_have_attribute("data-state", "RUNNING")
    page.screenshot(path=str(shots / "workflows-under-load.png"))

    # Released, every run ends; the rows on screen follow without a reload.
    agent.release("load")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=workflow-row] [data-state]')]"
        ".every(b => b.dataset.state === 'COMPLETED')",
        timeout=120_000,
    )
    expect(newest).to_have_attribute("data-state", "COMPLETED")
    assert page.evaluate("window.__notReloaded") is True


def test_with_auth_on_the_dashboard_asks_for_a_token_and_shows_its_namespaces_only(
    page: Page, tmp_path: Path, backdrop: Backdrop
) -> None:
    key = tmp_path / "auth.pem"
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    keys = TokenKeys(str(key))
    admin = keys.mint(Claims("admin", "admin", namespaces=("*",)), 600)
    viewer = keys.mint(Claims("alice", "viewer", namespaces=("team-a",)), 600)
    server = EmbeddedServer(db_path=str(tmp_path / "dwe.db"), http_port=0, auth_key=str(key))
    server.start()
    try:

        async def create(namespace: str) -> str:
            async with DweClient(server.address, token=admin) as client:
                one = [{"step_id": "a", "agent_capability": "work"}]
                made = await client.create_workflow(
                    build_workflow_spec(f"in-{namespace}", one), namespace=namespace
                )
                return str(made.workflow_id)

        mine, theirs = backdrop.run(create("team-a")), backdrop.run(create("team-b"))
        http = server.server.http
        assert http is not None
        page.goto(http.url)
        prompt = page.get_by_test_id("token-prompt")
        expect(prompt).to_be_visible(timeout=WAIT_MS)
        prompt.locator('input[name="token"]').fill(viewer)
        prompt.get_by_role("button", name="Use token").click()
        expect(prompt).to_be_hidden(timeout=WAIT_MS)
        expect(
            page.locator(f'[data-testid="workflow-row"][data-workflow-id="{mine}"]')
        ).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(f'[data-workflow-id="{theirs}"]')).to_have_count(0)
        expect(page.get_by_test_id("workflow-row")).to_have_count(1)
    finally:
        server.stop()
