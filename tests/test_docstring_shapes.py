"""Every public function that takes or returns a tensor documents the tensor shapes.

The package is walked with :mod:`ast` (nothing is imported). A function is checked when it is
public (its name, its class and its module do not start with ``_``), lives outside
``depthduet/cli/``, and a parameter or return annotation mentions ``Tensor``. Its docstring must
then give, for each tensor parameter, the parameter name followed (in the same paragraph or
``Args`` entry) by a shape such as ``(B, 1, H, W)`` / ``(N,)`` or the words "same shape as",
"any shape" or "scalar"; and for a tensor return value, a shape in the ``Returns:`` (or
``Yields:``) section (for a property, anywhere in the docstring).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "depthduet"

TENSOR_RE = re.compile(r"\bTensor\b")
# one dimension: ``B``, ``s*h``, ``H / 2^(i+1)``, ``...``
_DIM = r"(?:[A-Za-z0-9_*+/ .'^-]|\([A-Za-z0-9_*+/ .^-]*\))+"
SHAPE_RE = re.compile(
    rf"\((?:{_DIM}, )+{_DIM}\)"  # (B, 1, H, W), (..., H, W)
    rf"|\({_DIM},\)"  # (N,)
    r"|\(\)"  # () : a 0-d tensor
    r"|same shape|any shape|\bscalar",
    re.IGNORECASE,
)
# end of the text that documents one name: a blank line, or the next ``name:`` / section line
SEGMENT_END_RE = re.compile(r"\n\s*\n|\n\s+\*{0,2}[A-Za-z_]\w*(?: \([^)\n]*\))?:\s")
SECTION_RE = re.compile(r"^(\s*)(Returns|Yields):\s*$", re.MULTILINE)


def _public_modules() -> list[Path]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli" or any(part.startswith("_") for part in rel.parts):
            continue
        out.append(path)
    return out


def _mentions_tensor(node: ast.expr | None) -> bool:
    return node is not None and bool(TENSOR_RE.search(ast.unparse(node)))


def _is_property(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in fn.decorator_list:
        name = ast.unparse(dec)
        if name in {"property", "functools.cached_property", "cached_property"}:
            return True
    return False


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """``(qualified name, node, is_method)`` of every public function to check."""
    found = []
    for path in _public_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        mod = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        candidates = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                candidates.append((f"{mod}.{node.name}", node, False))
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        candidates.append((f"{mod}.{node.name}.{item.name}", item, True))
        for qual, fn, is_method in candidates:
            if fn.name.startswith("_"):
                continue
            if _tensor_params(fn, is_method) or _mentions_tensor(fn.returns):
                found.append((qual, fn, is_method))
    return found


def _tensor_params(fn: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> list[str]:
    args = fn.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    names = []
    for i, arg in enumerate(every):
        if is_method and i == 0 and arg.arg in {"self", "cls"}:
            continue
        if _mentions_tensor(arg.annotation):
            names.append(arg.arg)
    return names


def _param_documented(doc: str, name: str) -> bool:
    for match in re.finditer(rf"(?<![\w.]){re.escape(name)}(?!\w)", doc):
        rest = doc[match.end() :]
        end = SEGMENT_END_RE.search(rest)
        segment = rest if end is None else rest[: end.start()]
        if SHAPE_RE.search(segment):
            return True
    return False


def _returns_documented(doc: str, is_property: bool) -> bool:
    if is_property:
        return bool(SHAPE_RE.search(doc))
    for match in SECTION_RE.finditer(doc):
        indent = len(match.group(1))
        body = []
        for line in doc[match.end() :].splitlines()[1:]:
            stripped = line.strip()
            if stripped and len(line) - len(line.lstrip()) <= indent:
                break  # next section
            body.append(line)
        if SHAPE_RE.search("\n".join(body)):
            return True
    return False


FUNCTIONS = _functions()


def test_found_functions() -> None:
    print(f"\nchecked {len(FUNCTIONS)} public functions/methods with tensor signatures")
    assert len(FUNCTIONS) > 20, "the AST walk found suspiciously few tensor functions"


def test_tensor_shapes_documented() -> None:
    problems = []
    for qual, fn, is_method in FUNCTIONS:
        doc = ast.get_docstring(fn)
        if not doc:
            problems.append(f"{qual}: no docstring")
            continue
        for name in _tensor_params(fn, is_method):
            if not _param_documented(doc, name):
                problems.append(f"{qual}: no shape for tensor argument {name!r}")
        if _mentions_tensor(fn.returns) and not _returns_documented(doc, _is_property(fn)):
            problems.append(f"{qual}: no shape for the returned tensor(s) in 'Returns:'")
    print(f"\nchecked {len(FUNCTIONS)} functions, {len(problems)} problems")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("doc", "ok"),
    [
        ("Args:\n    depth: ``(B, 1, H, W)`` metres.\n    x: other.", True),
        ("Args:\n    depth: metres.\n    x: ``(B, 1, H, W)``.", False),
        ("Scale ``depth`` (B, 1, H, W) by two.", True),
        ("Scale ``depth`` by two.\n\nThe result is (B, 1, H, W).", False),
        ("Args:\n    depth: ``(N,)`` values.", True),
        ("Args:\n    depth: same shape as ``x``.", True),
    ],
)
def test_param_rule(doc: str, ok: bool) -> None:
    assert _param_documented(doc, "depth") is ok


def test_returns_rule() -> None:
    good = "Do it.\n\nReturns:\n    ``(B, 1, H, W)`` depth.\n\nRaises:\n    ValueError: bad."
    bad = "Do it ``(B, 1, H, W)``.\n\nReturns:\n    depth.\n\nRaises:\n    ValueError: (a, b)."
    assert _returns_documented(good, False)
    assert not _returns_documented(bad, False)
