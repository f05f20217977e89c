"""The shell commands and saved snippets of README.md and docs/*.md, in page order.

The convention (also stated in docs/operations.md's preamble):

- A fenced block marked ``bash``, ``sh`` or ``shell`` holds commands: every line that is
  not blank and not a comment is one, and a line ending in ``\\`` goes on on the next.
  In a ``console`` block, the lines that start with ``$ `` are commands (the rest is
  their output).
- Every other block (``text``, ``yaml``, ``json``, ``python``, none) is not run. Output
  goes in a bare block or ``text``; commands meant for other hosts go in ``text``.
- ``# exits N`` at the end of a command says the exit code it must end with (else 0).
- A ``python`` block right after prose that says "save this as `FILE`" is written to
  FILE (then a command block runs it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_KINDS = {"bash", "sh", "shell"}
CONSOLE = "console"

_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_SAVE_AS = re.compile(r"save (?:this|it) as `([^`]+)`", re.I)
_EXITS = re.compile(r"#\s*exits (\d+)\s*$")
# A line of an unmarked block that looks like a command someone forgot to mark.
_LOOKS_RUNNABLE = re.compile(r"^(\$ |\.venv/bin/|make \w|sudo |curl |pg_dump |sqlite3 )")


@dataclass(frozen=True)
class Block:
    """One fenced block: its info string, first line number and text lines."""

    kind: str
    line: int
    lines: tuple[str, ...]
    prose: str  # the text between the previous block and this one


@dataclass(frozen=True)
class Command:
    """A shell command of a page, as written (continuation lines joined)."""

    page: str
    line: int
    text: str

    @property
    def exit_code(self) -> int:
        found = _EXITS.search(self.text)
        return int(found.group(1)) if found else 0


@dataclass(frozen=True)
class Snippet:
    """A python block the page says to save as ``name``."""

    page: str
    line: int
    name: str
    text: str


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


def blocks(page: Path) -> list[Block]:
    """The page's fenced blocks (an indented fence inside a list item counts too)."""
    found: list[Block] = []
    prose: list[str] = []
    body: list[str] | None = None
    kind, start, indent = "", 0, ""
    for number, raw in enumerate(page.read_text().splitlines(), 1):
        fence = _FENCE.match(raw)
        if body is None and fence:
            indent, kind, start, body = fence.group(1), fence.group(2), number, []
        elif body is not None and fence and fence.group(2) == "":
            found.append(Block(kind, start, tuple(body), "\n".join(prose)))
            body, prose = None, []
        elif body is not None:
            body.append(raw.removeprefix(indent))
        else:
            prose.append(raw)
    return found


def commands_of(block: Block, page: str) -> list[Command]:
    """The commands of one block (none for a block that is not a shell or console one)."""
    out: list[Command] = []
    pending, first = "", 0
    for offset, line in enumerate(block.lines, 1):
        if block.kind == CONSOLE:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        elif block.kind not in SHELL_KINDS:
            return []
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        first = first or block.line + offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(Command(page, first, pending + line))
        pending, first = "", 0
    return out


def steps(page: Path) -> list[Command | Snippet]:
    """The page's commands and snippets to save, in the order a reader meets them."""
    out: list[Command | Snippet] = []
    for block in blocks(page):
        saved = _SAVE_AS.findall(block.prose.split("\n\n")[-1])
        if block.kind == "python" and saved:
            out.append(Snippet(rel(page), block.line, saved[-1], "\n".join(block.lines) + "\n"))
        out.extend(commands_of(block, rel(page)))
    return out


def unmarked_commands(page: Path) -> list[str]:
    """Lines of blocks with no info string that look like commands: mark them ``bash``
    (run) or ``text`` (not run), so that nothing runnable escapes the test unnoticed."""
    return [
        f"{rel(page)}:{block.line}: {line}"
        for block in blocks(page)
        if block.kind == ""
        for line in block.lines
        if _LOOKS_RUNNABLE.match(line)
    ]
