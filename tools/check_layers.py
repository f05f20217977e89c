"""Checks the layer contracts of docs/architecture.md and the size limits.

Usage: python tools/check_layers.py [--root PATH]

The import-linter contracts live in ``.importlinter`` at the root. grimp cannot
walk the editable install (``dwe`` is a namespace package assembled from
top-level folders by setuptools ``package-dir``), so the sources are copied
into a plain ``<tmp>/dwe`` package first. What import-linter cannot express is
checked here with ``ast``: the pure modules import only the standard library
(and no I/O modules), and modules and functions stay under the size limits.

Prints ``path:line: message [contract]`` per violation and a summary line per
contract; exits 1 when any contract is broken.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grimp
from importlinter.api import read_configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract
from importlinter.contracts.protected import ProtectedContract
from importlinter.domain.contract import Contract, InvalidContractOptions
from importlinter.domain.helpers import MissingImport

# dwe subpackage -> folder, as pyproject's package-dir maps them (common and cli may not exist yet).
PACKAGE_DIRS = {
    "v1": "protos/dwe/v1",
    "server": "server",
    "agent_sdk": "agent_sdk",
    "clients": "clients",
    "common": "common",
    "cli": "cli",
}
SKIP_DIRS = {"node_modules", "__pycache__"}
CONFIG = ".importlinter"
CONTRACT_TYPES: dict[str, type[Contract]] = {
    "forbidden": ForbiddenContract,
    "layers": LayersContract,
    "independence": IndependenceContract,
    "protected": ProtectedContract,
    "acyclic_siblings": AcyclicSiblingsContract,
}
# Which option of each contract type names the modules it constrains: none existing is an error.
SOURCE_OPTIONS = {
    "forbidden": "source_modules",
    "layers": "layers",
    "acyclic_siblings": "ancestors",
}

PURE_CONTRACT = "pure modules import only the standard library"
# Pure module (by path) -> the dwe modules it may import besides the standard library.
PURE_ALLOWED = {
    "server/engine/": ("dwe.server.engine", "dwe.common.backoff", "dwe.common.graph"),
    "common/backoff.py": ("dwe.common.backoff", "dwe.common.graph"),
    "common/graph.py": ("dwe.common.backoff", "dwe.common.graph"),
}
# Standard library, but I/O: the pure core has none.
IO_MODULES = {
    "asyncio",
    "threading",
    "socket",
    "subprocess",
    "concurrent",
    "multiprocessing",
    "sqlite3",
    "selectors",
}

SIZE_FOLDERS = ("server", "agent_sdk", "clients", "common", "cli")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
MODULE_SIZE_CONTRACT = f"modules are at most {MAX_MODULE_LINES} lines"
FUNCTION_SIZE_CONTRACT = f"functions are at most {MAX_FUNCTION_LINES} lines"


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    message: str
    contract: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} [{self.contract}]"


@dataclass(frozen=True)
class Source:
    module: str  # dotted name, e.g. dwe.server.engine.model
    path: Path  # absolute
    rel: str  # relative to the root, with forward slashes


def iter_sources(root: Path) -> Iterator[Source]:
    """Every .py file of the package folders; folders that do not exist are skipped."""
    for package, folder in PACKAGE_DIRS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            # Pruned, not filtered: node_modules can be large.
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for filename in sorted(f for f in filenames if f.endswith(".py")):
                path = Path(dirpath, filename)
                parts = path.relative_to(base).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                module = ".".join(("dwe", package, *parts))
                yield Source(module, path, path.relative_to(root).as_posix())


def copy_tree(root: Path, dest: Path) -> dict[str, str]:
    """Copies the sources to ``dest/dwe/...``; returns module -> path relative to the root."""
    modules = {"dwe": CONFIG}
    (dest / "dwe").mkdir()
    (dest / "dwe" / "__init__.py").touch()
    for source in iter_sources(root):
        rel = Path(*source.module.split(".")[1:])
        target = dest / "dwe" / rel / "__init__.py" if source.path.name == "__init__.py" else None
        target = target or (dest / "dwe" / rel).with_suffix(".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.path, target)
        modules[source.module] = source.rel
    # grimp sees only regular packages: give folders without an __init__.py an empty one.
    for folder in (dest / "dwe").rglob("*"):
        if folder.is_dir() and not (folder / "__init__.py").exists():
            (folder / "__init__.py").touch()
            parts = folder.relative_to(dest / "dwe").parts
            name = ".".join(("dwe", *parts))
            modules.setdefault(name, Path(PACKAGE_DIRS[parts[0]], *parts[1:]).as_posix())
    return modules


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def is_known(name: str, modules: dict[str, str]) -> bool:
    """False only for a dwe module that is not in the tree; external ones are left to grimp."""
    internal = name == "dwe" or name.startswith("dwe.")
    return "*" in name or not internal or name in modules


def prune(options: dict[str, Any], modules: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """Drops modules that do not exist yet; returns the options and an error, if any."""
    pruned = dict(options)
    for key in ("source_modules", "forbidden_modules", "ancestors", "layers", "modules"):
        if key in pruned:
            pruned[key] = [m for m in as_list(pruned[key]) if is_known(m.strip("()"), modules)]
    if "ignore_imports" in pruned:
        pruned["ignore_imports"] = [
            expr
            for expr in as_list(pruned["ignore_imports"])
            if all(is_known(side.strip(), modules) for side in expr.split("->"))
        ]
    sources = SOURCE_OPTIONS.get(options["type"])
    if sources and not pruned.get(sources):
        return pruned, f"none of its {sources} exist: {', '.join(as_list(options[sources]))}"
    return pruned, None


@contextlib.contextmanager
def importable(tree: Path) -> Iterator[None]:
    """Puts the copied tree first on sys.path, so the editable install cannot shadow it."""
    sys.path.insert(0, str(tree))
    importlib.invalidate_caches()
    try:
        with contextlib.chdir(tree):
            spec = importlib.util.find_spec("dwe")
            origin = Path(spec.origin) if spec and spec.origin else None
            if origin is None or not origin.is_relative_to(tree):
                raise RuntimeError(f"dwe resolves to {origin}, not to the copy in {tree}")
            yield
    finally:
        sys.path.remove(str(tree))


def build_graph(tree: Path, session: dict[str, Any]) -> grimp.ImportGraph:
    with importable(tree):
        return grimp.build_graph(
            *as_list(session["root_packages"]),
            include_external_packages=session.get("include_external_packages") in ("True", "true"),
            exclude_type_checking_imports=session.get("exclude_type_checking_imports")
            in ("True", "true"),
            cache_dir=None,
        )


def section_line(config: Path, contract_id: str) -> int:
    header = f"[importlinter:contract:{contract_id}]"
    for number, text in enumerate(config.read_text().splitlines(), start=1):
        if text.strip() == header:
            return number
    return 1


def check_contracts(root: Path) -> dict[str, list[Violation]]:
    """Runs the import-linter contracts of ``root/.importlinter`` on a copy of the sources."""
    config = root / CONFIG
    settings = read_configuration(str(config))
    session = dict(settings["session_options"])
    # A one-line INI value is a string, but the contracts iterate over root_packages.
    session["root_packages"] = as_list(session["root_packages"])
    results: dict[str, list[Violation]] = {}
    with tempfile.TemporaryDirectory(prefix="dwe-layers-") as tmp:
        modules = copy_tree(root, Path(tmp))
        graph = build_graph(Path(tmp), session)
        for options in settings["contracts_options"]:
            name = options.get("name", options["id"])
            here = Violation(CONFIG, section_line(config, options["id"]), "", name)
            pruned, error = prune(options, modules)
            if error:
                results[name] = [_with(here, error)]
                continue
            try:
                contract = CONTRACT_TYPES[options["type"]](name, session, pruned)
                check = contract.check(copy.deepcopy(graph), verbose=False)
            # A stale ignore_imports or a bad option breaks the contract rather than the run.
            except (KeyError, ValueError, InvalidContractOptions, MissingImport) as exc:
                results[name] = [_with(here, f"cannot check: {exc!r}")]
                continue
            found = render(options["type"], check.metadata, graph, modules, name)
            if not check.kept and not found:
                found = [_with(here, "broken (run lint-imports on the copied tree for details)")]
            results[name] = found
    return results


def _with(here: Violation, message: str) -> Violation:
    return Violation(here.path, here.line, message, here.contract)


def render(
    kind: str,
    metadata: dict[str, Any],
    graph: grimp.ImportGraph,
    modules: dict[str, str],
    name: str,
) -> list[Violation]:
    """One violation per offending import line, from import-linter's check metadata."""
    chains: list[tuple[list[dict[str, Any]], str]] = []
    if kind == "forbidden":
        for data in metadata.get("invalid_chains", []):
            why = f"{data['downstream_module']} must not import {data['upstream_module']}"
            chains += [(chain, why) for chain in data["chains"]]
    elif kind == "layers":
        for dep in metadata.get("invalid_dependencies", []):
            why = f"lower layer {dep['importer']} imports higher layer {dep['imported']}"
            for route in dep["routes"]:
                for first in [route["chain"][0], *route["extra_firsts"]]:
                    chains.append(([first, *route["chain"][1:]], why))
    elif kind == "acyclic_siblings":
        chains = cycle_chains(metadata, graph)
    found = []
    for chain, why in chains:
        first = chain[0]
        path = modules.get(first["importer"], CONFIG)
        route = " -> ".join([first["importer"], *(link["imported"] for link in chain)])
        for line in sorted({n or 0 for n in first["line_numbers"]}):
            found.append(Violation(path, line, f"{route} ({why})", name))
    return found


def cycle_chains(
    metadata: dict[str, Any], graph: grimp.ImportGraph
) -> list[tuple[list[dict[str, Any]], str]]:
    """The imports import-linter would remove to break each cycle, with the cycle they close."""
    chains = []
    for package, breakers in sorted(metadata.get("cycle_breakers_by_package", {}).items()):
        for importer, imported in sorted(breakers):
            details = graph.get_import_details(importer=importer, imported=imported)
            back = graph.find_shortest_chain(importer=imported, imported=importer) or ()
            cycle = " -> ".join([importer, *back]) if back else f"{importer} -> {imported}"
            link = {
                "importer": importer,
                "imported": imported,
                "line_numbers": tuple(d["line_number"] for d in details),
            }
            chains.append(([link], f"closes the cycle {cycle} in {package}"))
    return chains


def resolve(source: Source, node: ast.ImportFrom) -> str | None:
    """The absolute module of a ``from`` import; None when it climbs above the root."""
    if not node.level:
        return node.module
    is_package = source.path.name == "__init__.py"
    parts = source.module.split(".") if is_package else source.module.split(".")[:-1]
    if node.level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def pure_import_ok(name: str, allowed: tuple[str, ...]) -> bool:
    if any(name == a or name.startswith(a + ".") for a in allowed):
        return True
    top = name.split(".")[0]
    return top not in IO_MODULES and top in sys.stdlib_module_names


def imported_names(source: Source, tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, alternatives): a ``from m import x`` is fine if m or every m.x is."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            target = resolve(source, node) or "." * node.level + (node.module or "")
            names = [f"{target}.{alias.name}" for alias in node.names if alias.name != "*"]
            yield node.lineno, target, names


def check_pure(root: Path) -> list[Violation]:
    found = []
    for source in iter_sources(root):
        allowed = next((v for k, v in PURE_ALLOWED.items() if source.rel.startswith(k)), None)
        if allowed is None:
            continue
        tree = parse(source)
        if tree is None:
            found.append(Violation(source.rel, 1, "cannot parse", PURE_CONTRACT))
            continue
        for line, target, names in imported_names(source, tree):
            if pure_import_ok(target, allowed) or (
                names and all(pure_import_ok(n, allowed) for n in names)
            ):
                continue
            top = target.split(".")[0]
            what = "an I/O module" if top in IO_MODULES else "not the standard library"
            message = f"{source.module} imports {target}, {what}"
            found.append(Violation(source.rel, line, message, PURE_CONTRACT))
    return found


def parse(source: Source) -> ast.Module | None:
    try:
        return ast.parse(source.path.read_text(), filename=str(source.path))
    except (SyntaxError, UnicodeDecodeError):
        return None


def sized_sources(root: Path) -> Iterator[Source]:
    for source in iter_sources(root):
        if source.rel.split("/")[0] in SIZE_FOLDERS and "_pb2" not in source.path.name:
            yield source


def check_module_sizes(root: Path) -> list[Violation]:
    found = []
    for source in sized_sources(root):
        lines = len(source.path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            message = f"{source.module} is {lines} lines (limit {MAX_MODULE_LINES})"
            found.append(Violation(source.rel, 1, message, MODULE_SIZE_CONTRACT))
    return found


def check_function_sizes(root: Path) -> list[Violation]:
    found = []
    for source in sized_sources(root):
        tree = parse(source)
        if tree is None:
            found.append(Violation(source.rel, 1, "cannot parse", FUNCTION_SIZE_CONTRACT))
            continue
        for qualname, node in functions(tree, ""):
            # lineno is the def line: decorators are not counted.
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                message = f"{qualname} is {lines} lines (limit {MAX_FUNCTION_LINES})"
                found.append(Violation(source.rel, node.lineno, message, FUNCTION_SIZE_CONTRACT))
    return found


def functions(
    node: ast.AST, prefix: str
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + child.name, child
            yield from functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from functions(child, f"{prefix}{child.name}.")
        else:
            yield from functions(child, prefix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = Path(__file__).resolve().parent.parent
    parser.add_argument("--root", type=Path, default=default_root, help="repository root")
    root = parser.parse_args(argv).root.resolve()
    if not (root / CONFIG).is_file():
        print(f"{root / CONFIG}: no such file", file=sys.stderr)
        return 2
    results = check_contracts(root)
    results[PURE_CONTRACT] = check_pure(root)
    results[MODULE_SIZE_CONTRACT] = check_module_sizes(root)
    results[FUNCTION_SIZE_CONTRACT] = check_function_sizes(root)
    for violation in sorted(v for found in results.values() for v in found):
        print(violation)
    for name, found in results.items():
        print(f"BROKEN  {name} ({len(found)})" if found else f"kept    {name}")
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
