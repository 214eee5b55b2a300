"""Where the messages of an application function go.

A job over files reports as it goes: one line per file written, notes and warnings about a
file, the error of a file that failed. The command line prints them (results on stdout, the
rest on stderr after ``depthduet COMMAND:``); from Python, pass your own :class:`Messages`
to collect or silence them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Messages", "console", "quiet"]


@dataclass(frozen=True)
class Messages:
    """The two places a job writes to.

    Attributes:
        out: takes result lines (a file written, a summary, a table).
        err: takes notes, warnings and errors, each starting with its kind (``note: ...``,
            ``warning: ...``, ``error: ...``) or a count of failures.
    """

    out: Callable[[str], None]
    err: Callable[[str], None]


def console(command: str) -> Messages:
    """Messages printed the way ``depthduet COMMAND`` prints them: results on stdout, the rest
    on stderr after ``depthduet COMMAND: ``; every line flushed at once."""

    def out(text: str) -> None:
        print(text, flush=True)

    def err(text: str) -> None:
        print(f"depthduet {command}: {text}", file=sys.stderr, flush=True)

    return Messages(out, err)


def quiet() -> Messages:
    """Messages that go nowhere."""

    def drop(text: str) -> None:
        del text

    return Messages(drop, drop)
