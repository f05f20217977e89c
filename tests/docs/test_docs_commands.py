"""Every shell command in README.md and docs/*.md runs as written, in page order, against
real processes (tests/docs/pages.py says what a command is, runner.py how it runs), or
is listed in NOT_RUN with the reason. A doc that gains a command gets it run here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port

from .pages import Command, Snippet, pages, rel, steps, unmarked_commands
from .runner import PageRun, Ports, prepare
from .shell import PageShell

#: The commands not run here: (page, the command or the start of the commands) -> why.
NOT_RUN: dict[tuple[str, str], str] = {
    ("README.md", "make test"): "runs this test among the whole suite (minutes)",
    ("docs/operations.md", "make faults"): (
        "the fault suite at full length (about a minute); make test runs its short version"
    ),
    ("docs/operations.md", ".venv/bin/pip install -e '.[otlp]'"): (
        "would reinstall the .venv the tests run from; the dev extra has the exporter already"
    ),
    ("docs/operations.md", "git pull"): "would update the checkout the tests run from",
    ("docs/protocol.md", "grpcurl "): (
        "run by tests/server/test_docs_grpcurl.py through a reflection client, as grpcurl"
        " would (grpcurl need not be installed)"
    ),
}


def _exempt(command: Command) -> bool:
    return any(page == command.page and command.text.startswith(start) for page, start in NOT_RUN)


def _runnable(page: Path) -> list[Command | Snippet]:
    return [s for s in steps(page) if not (isinstance(s, Command) and _exempt(s))]


RUN_PAGES = [p for p in pages() if any(isinstance(s, Command) for s in _runnable(p))]


def test_each_listed_command_is_still_in_the_docs() -> None:
    every = [s for p in pages() for s in steps(p) if isinstance(s, Command)]
    for page, start in NOT_RUN:
        assert any(c.page == page and c.text.startswith(start) for c in every), (page, start)


def test_no_command_hides_in_a_block_without_a_kind() -> None:
    assert [line for page in pages() for line in unmarked_commands(page)] == []


def test_the_readme_quick_start_is_found() -> None:
    readme = steps(pages()[0])
    texts = [s.text for s in readme if isinstance(s, Command)]
    assert ".venv/bin/dwe agent examples.quickstart:agent --target 127.0.0.1:50051 &" in texts
    assert [s.name for s in readme if isinstance(s, Snippet)] == ["submit.py"]


async def test_a_command_must_end_with_the_exit_code_its_doc_gives(tmp_path: Path) -> None:
    ports = Ports(free_port(), free_port())
    shell = PageShell(tmp_path, prepare(tmp_path, ports))
    run = PageRun(shell, ports)
    await shell.start()
    try:
        await run.command(Command("t.md", 1, "false   # exits 1"))
        await run.command(Command("t.md", 2, "cd /tmp && export X=1"))
        await run.command(Command("t.md", 3, 'test "$PWD $X" = "/tmp 1"'))  # the shell stays
        with pytest.raises(AssertionError, match="exit code 1"):
            await run.command(Command("t.md", 4, "false"))
    finally:
        await shell.close()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("page", RUN_PAGES, ids=[rel(p) for p in RUN_PAGES])
async def test_the_commands_of_the_page_run_as_written(page: Path, tmp_path: Path) -> None:
    grpc = free_port()
    ports = Ports(grpc, next(p for p in iter(free_port, 0) if p != grpc))
    shell = PageShell(tmp_path, prepare(tmp_path, ports))
    run = PageRun(shell, ports)
    await shell.start()
    try:
        todo = _runnable(page)
        await run.setup(todo)
        for step in todo:
            await run.step(step)
    finally:
        await shell.close()
    assert run.done, f"{rel(page)}: nothing ran"
