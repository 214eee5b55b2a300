"""The package's shape, checked from its source: the import contract between layers (every
import counts, function-level and ``TYPE_CHECKING`` ones included), no import cycle between
subpackages, and the size limits of modules and functions (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the tomli backport (dev and docs extras)
    import tomli as tomllib

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "depthduet"


def _read_layers() -> list[set[str]]:
    """The layers of pyproject.toml's ``[[tool.depthduet.layers]]``, top to bottom."""
    with open(SRC.parents[1] / "pyproject.toml", "rb") as f:
        return [set(layer["parts"]) for layer in tomllib.load(f)["tool"]["depthduet"]["layers"]]


# Top to bottom. A unit may import any unit of a lower layer; units of one layer are
# independent of each other. A unit is a subpackage or a top-level module of depthduet.
LAYERS: list[set[str]] = _read_layers()
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
# The procedural scene builders read best as one recipe per scene (docs/world.md).
LONG_FUNCTIONS_ALLOWED_IN = ("data/world/",)
LONG_MARK = "Length:"  # a docstring line "Length: <reason>" allows a longer function


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every ``depthduet`` import in ``path``, at any depth."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or target == "depthduet":
                found += [(f"{target}.{a.name}", node.lineno) for a in node.names]
            else:
                found.append((target, node.lineno))
    return [(t, line) for t, line in found if t == "depthduet" or t.startswith("depthduet.")]


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _edges() -> list[tuple[str, str, str, int]]:
    """(from unit, to unit, file, line) for every import between two units of the package."""
    edges = []
    for path in sorted(SRC.rglob("*.py")):
        src_unit = _unit(_module_name(path))
        if not src_unit:  # the package's own __init__: lazy re-exports of the public API
            continue
        for target, line in _imports(path):
            dst_unit = _unit(target)
            if dst_unit in ("", "__version__") or dst_unit == src_unit:
                continue
            edges.append((src_unit, dst_unit, str(path.relative_to(SRC)), line))
    return edges


def _layer_of(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"depthduet.{unit} is in no layer of tests/test_architecture.py")


def test_every_unit_has_a_layer():
    units = {_unit(_module_name(p)) for p in SRC.rglob("*.py")} - {""}
    for unit in sorted(units):
        _layer_of(unit)


def test_imports_only_go_down():
    wrong = [
        f"{file}:{line}: depthduet.{a} imports depthduet.{b}"
        for a, b, file, line in _edges()
        if _layer_of(b) <= _layer_of(a)
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_cycle_between_subpackages():
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b, _, _ in _edges():
        graph[a].add(b)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_checker_sees_function_level_imports(tmp_path):
    text = "def f():\n    from depthduet.cli import main\n    return main\n"
    path = SRC / "models" / "_probe_for_test.py"
    try:
        path.write_text(text, encoding="utf-8")
        assert ("depthduet.cli", 2) in _imports(path)
        assert any(e[2].endswith("_probe_for_test.py") and e[1] == "cli" for e in _edges())
    finally:
        path.unlink()


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_module_size(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)}: {lines} lines"


def test_function_size():
    long = []
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        if rel.startswith(LONG_FUNCTIONS_ALLOWED_IN):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            n = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if n > MAX_FUNCTION_LINES and not any(
                ln.strip().startswith(LONG_MARK) for ln in doc.splitlines()
            ):
                long.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not long, "functions over the limit:\n" + "\n".join(long)
