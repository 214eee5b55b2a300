"""Exceptions meant for users: the command line prints them as one line (exit status 2)."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """An error caused by user input (a file, a path, an option), with a one-line message.

    Messages name the file or key and the problem, e.g. ``"a.pfm: bad header: expected 'PF' or
    'Pf', got 'P6'"``.
    """
