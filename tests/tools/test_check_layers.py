"""tools/check_layers.py on small synthetic trees, run as the build runs it (a subprocess)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
TOOL = ROOT / "tools" / "check_layers.py"

# A tree that keeps every contract: each layer imports only what it may.
CLEAN = {
    "protos/dwe/v1/__init__.py": "",
    "protos/dwe/v1/common_pb2.py": "from google.protobuf import descriptor\n",
    "server/__init__.py": "",
    "server/engine/__init__.py": "",
    "server/engine/model.py": "import dataclasses\n",
    "server/engine/scheduler.py": "from . import model\nfrom dwe.common import backoff\n",
    "server/store/__init__.py": "",
    "server/store/sqlite.py": "import sqlite3\n\nfrom dwe.server.engine import model\n",
    "server/runtime/__init__.py": "",
    "server/runtime/coordinator.py": (
        "import asyncio\n\n"
        "from dwe.server.engine import scheduler\n"
        "from dwe.server.store import sqlite\n"
    ),
    "server/api/__init__.py": "",
    "server/api/service.py": (
        "import grpc\n\nfrom dwe.server.runtime import coordinator\nfrom dwe.v1 import common_pb2\n"
    ),
    "server/http/__init__.py": "",
    "server/http/front.py": "import grpc\n\nfrom dwe.v1 import common_pb2\n",
    "server/app.py": "from dwe.server.api import service\nfrom dwe.server.http import front\n",
    "server/embedded.py": "from dwe.server import app\n",
    "agent_sdk/__init__.py": "",
    "agent_sdk/agent.py": (
        "import grpc\n\nfrom dwe.common import backoff\nfrom dwe.v1 import common_pb2\n"
    ),
    "clients/__init__.py": "",
    "clients/engine.py": (
        "def start():\n    from dwe.server.embedded import app\n\n    return app\n"
    ),
    "clients/typed.py": "from dwe.common import intents\nfrom dwe.v1 import common_pb2\n",
    "clients/cli.py": "from dwe.cli.main import run\n",
    "clients/node/node_modules/pkg/index.py": "import dwe.server\n",
    "cli/__init__.py": "",
    "cli/main.py": (
        "from dwe.clients import typed\nfrom dwe.server import app\n\n\ndef run():\n    pass\n"
    ),
    "common/__init__.py": "",
    "common/backoff.py": "import random\n",
    "common/graph.py": "from . import backoff\n",
    "common/intents.py": "import re\n",
}


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {**CLEAN, **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    shutil.copyfile(ROOT / ".importlinter", root / ".importlinter")
    return root


def run_tool(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def function(lines: int, decorated: bool = False) -> str:
    """A function whose def spans exactly ``lines`` lines."""
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 2))
    return ("@staticmethod\n" if decorated else "") + f"def f():\n{body}    return 0\n"


def test_clean_tree_keeps_every_contract(tmp_path: Path) -> None:
    # Boundaries: exactly 450 lines and exactly 60 lines (decorator not counted) are allowed.
    files = {
        "clients/long.py": "x = 1\n" * 450,
        "server/runtime/steps.py": function(60, decorated=True),
    }
    result = run_tool(make_tree(tmp_path, files))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.splitlines()
    assert "kept    engine is pure" in summary
    assert "kept    engine modules form no cycles" in summary
    assert all(line.startswith("kept    ") for line in summary), result.stdout


BROKEN = {
    "engine imports asyncio": (
        {"server/engine/model.py": "import dataclasses\nimport asyncio\n"},
        "server/engine/model.py:2: dwe.server.engine.model imports asyncio, an I/O module",
        "pure modules import only the standard library",
    ),
    "engine imports dwe.v1": (
        {"server/engine/model.py": "import dataclasses\nfrom dwe.v1 import common_pb2\n"},
        "server/engine/model.py:2: dwe.server.engine.model -> dwe.v1.common_pb2",
        "engine is pure",
    ),
    "engine imports a non-pure common module": (
        {"server/engine/model.py": "from dwe.common import intents\n"},
        "server/engine/model.py:1: dwe.server.engine.model -> dwe.common.intents",
        "engine is pure",
    ),
    "store imports grpc": (
        {"server/store/sqlite.py": "import sqlite3\n\nimport grpc\n"},
        "server/store/sqlite.py:3: dwe.server.store.sqlite -> grpc",
        "protobuf stops at the api layer",
    ),
    "store imports the runtime": (
        {"server/store/sqlite.py": "from dwe.server.runtime import coordinator\n"},
        "server/store/sqlite.py:1: dwe.server.store.sqlite -> dwe.server.runtime.coordinator",
        "server layers",
    ),
    "server imports the clients": (
        {"server/app.py": "from dwe.server.api import service\nfrom dwe.clients import typed\n"},
        "server/app.py:2: dwe.server.app -> dwe.clients.typed",
        "server never imports the clients",
    ),
    "SDK imports the server": (
        {"agent_sdk/agent.py": "from dwe.server import app\n"},
        "agent_sdk/agent.py:1: dwe.agent_sdk.agent -> dwe.server.app",
        "agent SDK imports only dwe.v1 and dwe.common",
    ),
    "clients import the server outside embedded mode": (
        {"clients/typed.py": "from dwe.v1 import common_pb2\nfrom dwe.server import app\n"},
        "clients/typed.py:2: dwe.clients.typed -> dwe.server.app",
        "clients use the server only for embedded mode",
    ),
    "common imports the server": (
        {"common/intents.py": "import re\n\nfrom dwe.server.engine import model\n"},
        "common/intents.py:3: dwe.common.intents -> dwe.server.engine.model",
        "common is neutral",
    ),
    "common/backoff imports a non-stdlib module": (
        {"common/backoff.py": "import random\n\nimport orjson\n"},
        "common/backoff.py:3: dwe.common.backoff imports orjson, not the standard library",
        "pure modules import only the standard library",
    ),
    "two engine modules import each other": (
        {"server/engine/model.py": "import dataclasses\nfrom . import scheduler\n"},
        # import-linter picks which import of the cycle to report; the cycle names both.
        (
            "server/engine/model.py:2: dwe.server.engine.model -> dwe.server.engine.scheduler",
            "server/engine/scheduler.py:1: dwe.server.engine.scheduler -> dwe.server.engine.model",
        ),
        "engine modules form no cycles",
    ),
    "a module of 451 lines": (
        {"clients/long.py": "x = 1\n" * 451},
        "clients/long.py:1: dwe.clients.long is 451 lines (limit 450)",
        "modules are at most 450 lines",
    ),
    "a function of 61 lines": (
        {"server/runtime/steps.py": "import math\n\n\n" + function(61, decorated=True)},
        "server/runtime/steps.py:5: f is 61 lines (limit 60)",
        "functions are at most 60 lines",
    ),
}


@pytest.mark.parametrize(("files", "violation", "contract"), BROKEN.values(), ids=BROKEN.keys())
def test_each_contract_fails_when_broken(
    tmp_path: Path, files: dict[str, str], violation: str | tuple[str, ...], contract: str
) -> None:
    result = run_tool(make_tree(tmp_path, files))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    prefixes = (violation,) if isinstance(violation, str) else violation
    assert any(line.startswith(prefixes) and line.endswith(f"[{contract}]") for line in lines), (
        result.stdout
    )
    assert f"BROKEN  {contract} (1)" in lines or f"BROKEN  {contract} (2)" in lines


def test_embedded_mode_import_is_allowed_while_others_fail(tmp_path: Path) -> None:
    files = {"clients/typed.py": "from dwe.server import app\n"}
    result = run_tool(make_tree(tmp_path, files))
    assert result.returncode == 1
    assert "clients/typed.py:1: dwe.clients.typed -> dwe.server.app" in result.stdout
    assert "clients/engine.py" not in result.stdout
    assert "clients/cli.py" not in result.stdout


def test_missing_packages_are_dropped_but_a_contract_needs_a_source(tmp_path: Path) -> None:
    make_tree(tmp_path, {})
    for folder in ("common", "cli", "server/runtime"):
        shutil.rmtree(tmp_path / folder)
    (tmp_path / "server/api/service.py").write_text("import grpc\n")
    (tmp_path / "server/engine/scheduler.py").write_text("from . import model\n")
    (tmp_path / "clients/typed.py").write_text("")
    (tmp_path / "agent_sdk/agent.py").write_text("")
    (tmp_path / "clients/cli.py").write_text("")
    result = run_tool(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(".importlinter:")
        and "none of its source_modules exist: dwe.common" in line
        and line.endswith("[common is neutral]")
        for line in lines
    ), result.stdout
    broken = [line for line in lines if line.startswith("BROKEN")]
    assert broken == ["BROKEN  common is neutral (1)"], result.stdout


def test_the_http_port_may_not_reach_past_grpc(tmp_path: Path) -> None:
    files = {"server/http/front.py": "from dwe.server.runtime import coordinator\n"}
    result = run_tool(make_tree(tmp_path, files))
    assert result.returncode == 1
    assert "BROKEN  the HTTP port reaches the server only through dwe.v1 calls (1)" in result.stdout
