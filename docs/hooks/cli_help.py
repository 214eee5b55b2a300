"""MkDocs hook: the command-line reference, generated from the commands' own ``--help``.

``cli.md`` holds the line ``<!-- cli-help -->``; at build time it is replaced by the output of
``depthduet --help`` and of every subcommand's ``format_help()``, taken from
:func:`depthduet.cli.build_parser`. No copy of the help text is kept in the repository, so the
page cannot drift from the code. The help is wrapped at a fixed width, so the page is the same
whatever terminal runs the build.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from mkdocs.exceptions import PluginError

PAGE = "cli.md"
PLACEHOLDER = "<!-- cli-help -->"
WIDTH = 100


@contextmanager
def _columns(width: int):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _build_parser(src: Path) -> argparse.ArgumentParser:
    try:
        from depthduet.cli import build_parser
    except ImportError:  # not installed: use the checkout's sources
        sys.path.insert(0, str(src))
        from depthduet.cli import build_parser
    return build_parser()


def render(src: Path) -> str:
    """Markdown for every command: a summary table, then each ``--help`` in a code block."""
    with _columns(WIDTH):
        parser = _build_parser(src)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        helps = {choice.dest: choice.help for choice in sub._choices_actions}
        parts = ["| command | what it does |", "|---|---|"]
        for name in sub.choices:
            parts.append(f"| [`depthduet {name}`](#depthduet-{name}) | {helps.get(name, '')} |")
        parts += ["", "## `depthduet`", "", "```text", parser.format_help().rstrip(), "```"]
        for name, command in sub.choices.items():
            parts += [
                "",
                f"## `depthduet {name}` {{#depthduet-{name}}}",
                "",
                helps.get(name, "") or "",
                "",
                "```text",
                command.format_help().rstrip(),
                "```",
            ]
    return "\n".join(parts) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001
    if page.file.src_uri != PAGE:
        return markdown
    if PLACEHOLDER not in markdown:
        raise PluginError(f"{PAGE}: placeholder {PLACEHOLDER} missing")
    src = Path(config.config_file_path).resolve().parent / "src"
    return markdown.replace(PLACEHOLDER, render(src))
