"""The wheel holds every package: pyproject.toml lists each one by hand."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_python_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for name, folder in config["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "node_modules" in relative.parts:
                continue
            found.add(".".join((name, *relative.parts)))
    assert found - listed == set(), "packages missing from pyproject.toml: a wheel lacks them"
