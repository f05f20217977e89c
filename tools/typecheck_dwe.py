"""mypy over packages by their ``dwe.*`` names, so imports between them are really checked.

Usage: python tools/typecheck_dwe.py [PACKAGE ...]   (default: clients cli common agent_sdk)

The editable install maps ``dwe.clients`` and its siblings to top-level folders
through an import hook that mypy cannot follow, so ``mypy clients`` sees every
``from dwe.x import y`` as ``Any``: a wrong argument to another module's
function, or a wrong use of what it returns, goes unnoticed. This links the
folders into a ``dwe/`` tree under ``.mypy_cache/``, points mypy at it, checks
the given packages as ``dwe.<package>`` and prints the folder paths back.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
# dwe subpackage -> folder, as pyproject's package-dir maps them.
FOLDERS = {
    "v1": "protos/dwe/v1",
    "common": "common",
    "server": "server",
    "agent_sdk": "agent_sdk",
    "clients": "clients",
    "cli": "cli",
}
DEFAULT = ("clients", "cli", "common", "agent_sdk")


def link_tree(base: Path) -> Path:
    """``base/dwe/<name>`` -> each folder; returns ``base`` (the mypy path)."""
    tree = base / "dwe"
    tree.mkdir(parents=True, exist_ok=True)
    for name, folder in FOLDERS.items():
        link, target = tree / name, ROOT / folder
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        if target.exists():
            link.symlink_to(target, target_is_directory=True)
    return base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help=f"default: {' '.join(DEFAULT)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.packages) - set(FOLDERS))
    if unknown:
        parser.error(f"unknown package {unknown[0]!r}; choose from {', '.join(sorted(FOLDERS))}")
    base = link_tree(ROOT / ".mypy_cache" / "dwe-src")
    os.environ["MYPYPATH"] = str(base)
    options = ["--config-file", str(ROOT / "pyproject.toml")]
    for package in args.packages or DEFAULT:
        options += ["-p", f"dwe.{package}"]
    out, err, status = api.run(options)
    for prefix in (f"{base}/dwe/", f"{os.path.relpath(base)}/dwe/"):
        for name, folder in FOLDERS.items():
            out = out.replace(f"{prefix}{name}/", f"{folder}/")
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main())
