"""Griffe extension for the API reference: depthduet's docstrings, as Markdown.

The docstrings follow the Google style with a few reStructuredText habits that Markdown does
not know. Before mkdocstrings renders them, this extension rewrites, in memory only:

* ``:func:`name```-style roles into code that links to the object when the reference renders
  it (names are looked up from the docstring's own module, as Sphinx does; a ``~`` prefix
  shows the last component only);
* ``Text::`` followed by an indented block into ``Text:`` and a fenced code block;
* simple tables (columns under ``====  ====`` rules) into Markdown tables;
* ``>>>`` examples outside an ``Examples`` section into ``pycon`` code blocks.

It also checks what griffe cannot: an ``Args:`` entry may document several parameters at once
(``height, width: image size.``), which griffe reads as one unknown name, so ``mkdocs.yml``
turns griffe's own unknown-parameter check off and this extension checks every name of such
an entry against the signature instead (a warning, hence an error under ``--strict``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|mod|meth|attr|data|exc|obj|const|type):`(?P<target>[^`]+)`"
)
_RULE = re.compile(r"^(?P<indent>\s*)=+(?: +=+)+\s*$")
_ARGS_HEADER = re.compile(
    r"^\s*(?:Args|Arguments|Parameters|Params|Keyword Args|Other Parameters):\s*$"
)


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        if member.is_alias:
            continue
        yield from _walk(member)


# ------------------------------------------------------------------------------------------
# cross-references
def _package_of(module: griffe.Module) -> str:
    return module.path if module.is_init_module else module.path.rpartition(".")[0]


def _lookup(scope: griffe.Object, dotted: str) -> str | None:
    """Full path of ``dotted`` seen from ``scope`` (its members, then its parents')."""
    head, _, rest = dotted.partition(".")
    obj: griffe.Object | None = scope
    while obj is not None:
        member = obj.members.get(head)
        if member is not None:
            base = member.target_path if member.is_alias else member.path
            return f"{base}.{rest}" if rest else base
        obj = obj.parent
    return None


def _resolve(obj: griffe.Object, target: str) -> str | None:
    target = target.strip().lstrip("~").rstrip("()")
    if not target or " " in target:
        return None
    if target.startswith("depthduet"):
        return target
    if target.startswith("."):
        return f"{_package_of(obj.module)}{target}"
    return _lookup(obj, target)


def _roles(obj: griffe.Object, text: str) -> str:
    def repl(match: re.Match) -> str:
        target = match["target"]
        shown = target.strip().lstrip("~")
        if target.startswith("~"):
            shown = shown.rpartition(".")[2]
        if match["role"] in ("func", "meth") and not shown.endswith(")"):
            shown += "()"
        path = _resolve(obj, target)
        code = f"<code>{shown}</code>"
        return f'<autoref identifier="{path}" optional>{code}</autoref>' if path else f"`{shown}`"

    return _ROLE.sub(repl, text)


# ------------------------------------------------------------------------------------------
# blocks
def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _literal_blocks(lines: list[str]) -> list[str]:
    """``Text::`` + indented block -> ``Text:`` + a fenced block at the text's indentation."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.rstrip()
        if not stripped.endswith("::") or stripped.endswith(":::"):
            out.append(line)
            i += 1
            continue
        base = _indent(line)
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j == len(lines) or _indent(lines[j]) <= base:
            out.append(line)
            i += 1
            continue
        block_end = j
        k = j
        while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) > base):
            if lines[k].strip():
                block_end = k + 1
            k += 1
        block = lines[j:block_end]
        cut = min(_indent(b) for b in block if b.strip())
        pad = " " * base
        text = stripped[:-1].rstrip()
        if text.strip() and text.strip() != ":":
            out.append(text)
            out.append("")
        lang = "pycon" if block[0].lstrip().startswith(">>>") else "text"
        out.append(f"{pad}```{lang}")
        out.extend(pad + b[cut:] if b.strip() else "" for b in block)
        out.append(f"{pad}```")
        i = block_end
    return out


def _table_cells(row: str, starts: list[int], indent: int) -> list[str]:
    body = row[indent:].rstrip()
    split = re.split(r"\s{2,}", body.strip(), maxsplit=len(starts) - 1)
    if not row[indent + starts[0] : indent + starts[0] + 1].isspace() and len(split) == len(starts):
        return split
    cells = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else None
        cells.append(body[start:end].strip())
    return cells


def _escape_cell(cell: str) -> str:
    """A table cell as Markdown: ``|`` and ``*`` outside code spans are literal."""
    parts = re.split(r"(`+[^`]*`+)", cell)
    return "".join(
        p if p.startswith("`") else p.replace("|", "\\|").replace("*", "\\*") for p in parts
    )


def _simple_tables(lines: list[str]) -> list[str]:
    """reST simple tables (``===  ===`` rules) -> Markdown tables."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        rule = _RULE.match(lines[i])
        if not rule:
            out.append(lines[i])
            i += 1
            continue
        indent = len(rule["indent"])
        starts = [m.start() for m in re.finditer(r"=+", lines[i][indent:])]
        rules = [i]
        j = i + 1
        while j < len(lines) and lines[j].strip():
            if _RULE.match(lines[j]):
                rules.append(j)
            j += 1
        if len(rules) < 2 or rules[-1] != j - 1:
            out.append(lines[i])
            i += 1
            continue
        header: list[str] | None = None
        body_from = i + 1
        if len(rules) == 3:
            header = _table_cells(lines[i + 1], starts, indent)
            body_from = rules[1] + 1
        rows: list[list[str]] = []
        for row in lines[body_from : rules[-1]]:
            if _RULE.match(row):
                continue
            cells = _table_cells(row, starts, indent)
            if rows and not cells[0]:
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
            else:
                rows.append(cells)
        pad = " " * indent
        head = header or [" "] * len(starts)
        out.append(f"{pad}| " + " | ".join(head) + " |")
        out.append(f"{pad}|" + "---|" * len(starts))
        for cells in rows:
            out.append(f"{pad}| " + " | ".join(_escape_cell(c) for c in cells) + " |")
        i = j
    return out


def _doctests(lines: list[str]) -> list[str]:
    """``>>>`` examples outside an ``Example(s):`` section -> fenced ``pycon`` blocks."""
    out: list[str] = []
    in_examples = False
    section_indent = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\s*Examples?:\s*$", line):
            in_examples, section_indent = True, _indent(line)
        elif in_examples and line.strip() and _indent(line) <= section_indent:
            in_examples = False
        if in_examples or not line.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        base = _indent(line)
        j = i
        while j < len(lines) and lines[j].strip() and _indent(lines[j]) >= base:
            j += 1
        pad = " " * base
        if out and out[-1].strip():
            out.append("")
        out.append(f"{pad}```pycon")
        out.extend(lines[i:j])
        out.append(f"{pad}```")
        i = j
    return out


# ------------------------------------------------------------------------------------------
# grouped parameters
def _check_grouped_params(obj: griffe.Object) -> None:
    if not (obj.is_function or obj.is_class) or obj.docstring is None:
        return
    try:
        params = obj.parameters
    except (AttributeError, ValueError):
        return
    if any(p.kind is griffe.ParameterKind.var_keyword for p in params):
        return
    names = {p.name.lstrip("*") for p in params}
    lines = obj.docstring.value.split("\n")
    entry_indent = None
    in_args = False
    for n, line in enumerate(lines):
        if _ARGS_HEADER.match(line):
            in_args, entry_indent = True, None
            continue
        if not in_args or not line.strip():
            continue
        if entry_indent is None:
            entry_indent = _indent(line)
        if _indent(line) < entry_indent:
            in_args = False
            continue
        if _indent(line) > entry_indent:
            continue
        head = line.strip().split(":", 1)[0]
        head = re.sub(r"\s*\(.*\)$", "", head)  # "name (type)"
        if "," not in head:
            continue
        for name in (h.strip().lstrip("*") for h in head.split(",")):
            if name and name not in names:
                griffe.logger.warning(
                    "%s:%s: parameter %r of the entry %r does not appear in the signature of %s",
                    obj.docstring.parent.relative_filepath
                    if obj.docstring.parent is not None
                    else obj.path,
                    (obj.docstring.lineno or 0) + n,
                    name,
                    head,
                    obj.path,
                )


# ------------------------------------------------------------------------------------------
class RstToMarkdown(griffe.Extension):
    """Rewrite depthduet's docstrings for Markdown and check grouped ``Args:`` entries."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "depthduet":
            return
        for obj in _walk(pkg):
            _check_grouped_params(obj)
            doc = obj.docstring
            if doc is None:
                continue
            lines = doc.value.split("\n")
            lines = _doctests(_simple_tables(_literal_blocks(lines)))
            doc.value = _roles(obj, "\n".join(lines))
