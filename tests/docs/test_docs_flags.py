"""Every ``--flag`` that README.md or docs/*.md names is a flag of some ``dwe`` command,
or of another tool listed in OTHER_TOOLS: a renamed or removed flag fails here."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from dwe.cli.parser import build_parser

from .pages import pages, rel

#: Flags the docs give to other programs: flag -> the program.
OTHER_TOOLS = {
    "--clean": "pg_restore",
    "--dbname": "pg_restore",
    "--if-exists": "pg_restore",
    "--file": "pg_dump",
    "--format": "pg_dump",
    "--now": "systemctl enable",
    "--gil": "py-spy record",
    "--rate": "py-spy record",
    "--nonblocking": "py-spy record",
    "--pid": "py-spy record",
}
_FLAG = re.compile(r"(?<![\w#-])--[a-z][a-z0-9-]+")  # not a #fragment of a link


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def cli_flags() -> set[str]:
    return {
        flag
        for parser in _parsers(build_parser())
        for action in parser._actions
        for flag in action.option_strings
    }


def test_every_flag_the_docs_name_exists() -> None:
    known = cli_flags() | set(OTHER_TOOLS)
    unknown = {
        f"{rel(page)}: {flag}"
        for page in pages()
        for flag in _FLAG.findall(page.read_text())
        if flag not in known
    }
    assert sorted(unknown) == []


def test_the_other_tools_flags_are_still_named() -> None:
    text = "\n".join(page.read_text() for page in pages())
    assert [flag for flag in OTHER_TOOLS if flag not in _FLAG.findall(text)] == []


def test_the_configuration_page_lists_every_server_flag() -> None:
    [server] = [p for p in _parsers(build_parser()) if p.prog.endswith(" server")]
    flags = {f for a in server._actions for f in a.option_strings if f.startswith("--")}
    table = (pages()[0].parent / "docs" / "configuration.md").read_text()
    assert sorted(f for f in flags - {"--help"} if f"`{f}`" not in table) == []
