"""MkDocs hook: the package map of ``architecture.md``, computed from the source at build time.

Three placeholders in ``architecture.md`` are replaced:

* ``<!-- modules -->``: every module of ``src/depthduet`` with the first sentence of its
  docstring;
* ``<!-- import-table -->``: for each part of the package (a top-level module or subpackage), the
  parts it imports, split into imports run when the module is imported and imports inside
  functions (run on use);
* ``<!-- import-exceptions -->``: every import that goes against the layer order of
  :data:`LAYERS` (upward, or sideways between two parts of one layer), module by module with
  line numbers;
* ``<!-- import-cycles -->``: pairs of parts that import each other.

The imports are read with :mod:`ast`, including those inside functions and methods; imports
under ``if TYPE_CHECKING:`` are type hints and are listed apart. Nothing is imported.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the tomli backport (dev and docs extras)
    import tomli as tomllib

from mkdocs.exceptions import PluginError

PAGE = "architecture.md"
PACKAGE = "depthduet"


def _read_layers() -> list[tuple[str, list[str]]]:
    """pyproject.toml's ``[[tool.depthduet.layers]]`` (the contract tests/test_architecture.py
    checks), from the bottom up."""
    with open(Path(__file__).resolve().parents[2] / "pyproject.toml", "rb") as f:
        layers = tomllib.load(f)["tool"]["depthduet"]["layers"]
    return [(layer["name"], list(layer["parts"])) for layer in reversed(layers)]


#: layers from the bottom up; a part may import parts of lower layers only. ``depthduet`` is
#: the package's ``__init__``. A top-level module or subpackage missing here is shown as "not
#: placed" in the tables and left out of the layer checks until it is added.
LAYERS: list[tuple[str, list[str]]] = _read_layers()
RANK = {part: n for n, (_, parts) in enumerate(LAYERS) for part in parts}


@dataclass(frozen=True)
class Edge:
    source: str  # module
    target: str  # module (or package)
    line: int
    when: str  # "import" | "function" | "typing"


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def part_of(module: str) -> str:
    """``depthduet.data.world.render`` -> ``data``; ``depthduet`` -> ``depthduet``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, name: str, is_pkg: bool, modules: set[str]) -> list[Edge]:
    """The ``depthduet`` imports of module ``name`` (its parsed source ``tree``)."""
    edges: list[Edge] = []

    def record(stmt: ast.stmt, when: str) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name.split(".")[0] == PACKAGE:
                    edges.append(Edge(name, alias.name, stmt.lineno, when))
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (stmt.level - 1)]
                target = ".".join(base + ([stmt.module] if stmt.module else []))
            else:
                target = stmt.module or ""
            if target.split(".")[0] != PACKAGE:
                return
            for alias in stmt.names:  # ``from depthduet import io`` imports a module
                sub = f"{target}.{alias.name}"
                edges.append(Edge(name, sub if sub in modules else target, stmt.lineno, when))

    def visit(node: ast.AST, when: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    record(stmt, "typing")
                    visit(stmt, "typing")
                for stmt in child.orelse:
                    record(stmt, when)
                    visit(stmt, when)
                continue
            inner = when
            if when == "import" and isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            ):
                inner = "function"
            if isinstance(child, ast.stmt):
                record(child, inner)
            visit(child, inner)

    visit(tree, "import")
    return edges


def collect(src: Path) -> tuple[dict[str, Path], list[Edge]]:
    """All modules under ``src/depthduet`` and the imports between them."""
    modules = {_module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.py"))}
    edges: list[Edge] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges += _imports(tree, name, path.name == "__init__.py", set(modules))
    return modules, sorted(set(edges), key=lambda e: (e.source, e.line, e.target))


def first_sentence(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    text = re.split(r"(?<=\.)\s+(?=[A-Z])", text)[0]
    text = re.sub(r":(?:py:)?[a-z]+:`~?([^`]+)`", r"``\1``", text)
    return text.replace("|", "\\|")


def _label(part: str) -> str:
    """How a part is written in the tables (the package's own ``__init__`` as such)."""
    return "__init__" if part == PACKAGE else part


def _direction(edge: Edge) -> str | None:
    a, b = part_of(edge.source), part_of(edge.target)
    if a == b or a not in RANK or b not in RANK:
        return None
    if RANK[b] > RANK[a]:
        return "upward"
    if RANK[b] == RANK[a]:
        return "sideways"
    return None


def render_modules(modules: dict[str, Path]) -> str:
    rows = ["| module | what it is (first sentence of its docstring) |", "|---|---|"]
    for name, path in modules.items():
        rows.append(f"| `{name}` | {first_sentence(path)} |")
    return "\n".join(rows)


def render_table(edges: list[Edge], extra: set[str]) -> str:
    at_import: dict[str, set[str]] = defaultdict(set)
    in_functions: dict[str, set[str]] = defaultdict(set)
    typing: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        a, b = part_of(e.source), part_of(e.target)
        if a == b:
            continue
        {"import": at_import, "function": in_functions, "typing": typing}[e.when][a].add(b)
    rows = [
        "| layer | part | imports when imported | imports inside functions only |",
        "|---|---|---|---|",
    ]
    order = {part: n for n, part in enumerate(p for _, parts in LAYERS for p in parts)}

    def fmt(parts: set[str]) -> str:
        ordered = sorted(parts, key=lambda p: order.get(p, 99))
        return ", ".join(f"`{_label(p)}`" for p in ordered) or "-"

    present = {part_of(e.source) for e in edges} | {part_of(e.target) for e in edges} | set(extra)
    unplaced = sorted(present - set(RANK))
    for layer, parts in [("(not placed)", unplaced), *reversed(LAYERS)]:
        for part in parts:
            if part not in present:
                continue
            late = in_functions[part] - at_import[part]
            extra = f" (type hints: {fmt(typing[part])})" if typing[part] else ""
            rows.append(
                f"| {layer} | `{_label(part)}` | {fmt(at_import[part])} | {fmt(late)}{extra} |"
            )
    return "\n".join(rows)


def render_exceptions(edges: list[Edge]) -> str:
    found = defaultdict(list)
    for e in edges:
        direction = _direction(e)
        if direction and e.when != "typing":
            found[(part_of(e.source), part_of(e.target), direction)].append(e)
    out = []
    unplaced = sorted({part_of(e.source) for e in edges} - set(RANK))
    if unplaced:
        out.append(
            "- not placed in a layer (add to `[[tool.depthduet.layers]]` in `pyproject.toml`): "
            + ", ".join(f"`{_label(p)}`" for p in unplaced)
        )
    if not found and not out:
        return "Every import follows the layer order."
    for (a, b, direction), items in sorted(found.items(), key=lambda kv: (RANK[kv[0][0]], kv[0])):
        where = "; ".join(
            f"`{e.source}` line {e.line} -> `{e.target}`"
            + (" (inside a function)" if e.when == "function" else " (when imported)")
            for e in sorted(items, key=lambda e: (e.source, e.line))
        )
        out.append(f"- **`{_label(a)}` -> `{_label(b)}`** ({direction}): {where}")
    return "\n".join(out)


def render_cycles(edges: list[Edge]) -> str:
    """Pairs of parts that import each other (at any time), with the modules involved."""
    by_pair: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in edges:
        a, b = part_of(e.source), part_of(e.target)
        if a != b and e.when != "typing":
            by_pair[(a, b)].append(e)
    out = []
    for (a, b), items in sorted(by_pair.items()):
        if a < b and (b, a) in by_pair:
            both = sorted(items + by_pair[(b, a)], key=lambda e: (e.source, e.line))
            where = "; ".join(
                f"`{e.source}` line {e.line} -> `{e.target}`"
                + (" (inside a function)" if e.when == "function" else " (when imported)")
                for e in both
            )
            out.append(f"- **`{_label(a)}` <-> `{_label(b)}`**: {where}")
    return "\n".join(out) or "No two parts import each other."


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001
    if page.file.src_uri != PAGE:
        return markdown
    src = Path(config.config_file_path).resolve().parent / "src"
    modules, edges = collect(src)
    for marker, text in (
        ("<!-- modules -->", render_modules(modules)),
        ("<!-- import-table -->", render_table(edges, {part_of(m) for m in modules})),
        ("<!-- import-exceptions -->", render_exceptions(edges)),
        ("<!-- import-cycles -->", render_cycles(edges)),
    ):
        if marker not in markdown:
            raise PluginError(f"{PAGE}: placeholder {marker} missing")
        markdown = markdown.replace(marker, text)
    return markdown
