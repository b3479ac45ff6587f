"""The package's shape: imports point one way, no module reaches into another's private
names, and the client stands apart from the dev node.

The import rules are read from the source (``ast``), so they hold for imports under
``TYPE_CHECKING`` and inside functions too.  ``from . import x`` counts as an import of module
``x``; the package's ``__init__`` may import anything, and nothing in the package imports it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "python" / "joule_sync"
NAME = "joule_sync"


def _module_name(path: Path) -> str:
    parts = [NAME, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}
EXTENSIONS = {_module_name(p) for p in PACKAGE.rglob("*.pyi")}
"""Modules built from Rust, known by their stubs."""


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if _is_package(module) else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: str) -> Iterator[tuple[str, list[str]]]:
    """``(imported module, names imported from it)`` for each import in ``module``."""
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == NAME:
                    yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if source.split(".")[0] != NAME:
                continue
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if f"{source}.{n}" in MODULES.keys() | EXTENSIONS]
            for name in submodules:
                yield f"{source}.{name}", []
            rest = [n for n in names if n not in submodules]
            if rest or not submodules:
                yield source, rest


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module in MODULES:
        if module == NAME:
            continue  # __init__ may import anything
        for target, _ in imports(module):
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def test_nothing_in_the_package_imports_its_init() -> None:
    importers = sorted(m for m, targets in edges().items() if NAME in targets)
    assert not importers, f"these modules import joule_sync itself: {importers}"


def test_the_imports_have_no_cycle() -> None:
    graph = edges()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def defined_private_names(module: str) -> set[str]:
    """Private names a module defines: module globals, class members, ``self._x``."""
    names: set[str] = set()
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if _private(n)}


def reach_ins(module: str, elsewhere: set[str]) -> Iterator[str]:
    own = defined_private_names(module)
    for target, names in imports(module):
        for name in names:
            if _private(name):
                yield f"imports {name} from {target}"
    for node in ast.walk(TREES[module]):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if node.attr in elsewhere and node.attr not in own:
            yield f"line {node.lineno}: .{node.attr}"


def test_no_module_touches_another_modules_private_names() -> None:
    defined = {module: defined_private_names(module) for module in MODULES}
    found = []
    for module in MODULES:
        elsewhere = set().union(*(names for m, names in defined.items() if m != module))
        found += [f"{module}: {what}" for what in reach_ins(module, elsewhere)]
    assert not found, "reach-ins:\n" + "\n".join(found)


def test_only_the_codec_module_imports_the_extension() -> None:
    importers = sorted(
        module for module in MODULES if any(target in EXTENSIONS for target, _ in imports(module))
    )
    assert importers == [f"{NAME}.codec"]


def test_the_checks_see_imports_the_way_python_does() -> None:
    """The rules above must not pass for want of seeing anything."""
    graph = edges()
    assert f"{NAME}._transport" in graph[f"{NAME}._read_core"]
    assert f"{NAME}.codec" in graph[f"{NAME}._read_core"]  # from . import codec
    assert f"{NAME}._node" in graph[f"{NAME}.dask"]
    assert any(t == f"{NAME}._transport" for t, _ in imports(f"{NAME}._node"))
    assert "_read_error" in defined_private_names(f"{NAME}._transport")


# in a fresh interpreter: this test session has imported the dev node already
LOADED_MODULES = """
import contextlib, json, sys
import joule_sync, joule_sync._cli
with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
    joule_sync._cli.main(["export", "--help"])  # builds every subcommand's parser
print(json.dumps(sorted(sys.modules)))
"""


def test_the_client_and_its_command_load_neither_the_dev_node_nor_matplotlib() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_MODULES], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "joule_sync._cli" in loaded
    unwanted = ("joule_sync.devnode", "matplotlib")
    assert [n for n in loaded if any(n == p or n.startswith(f"{p}.") for p in unwanted)] == []
