"""Finding the files of a dataset: required files and folders, listings in natural order, the
names a split selects.

Every dataset module of :mod:`depthduet.data` uses these helpers (through
:mod:`depthduet.data.folder`, which re-exports them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from depthduet import io as dio
from depthduet.errors import UserError
from depthduet.io.naming import natural_key
from depthduet.paths import PathLike

__all__ = [
    "DEPTH_SUFFIXES",
    "IMAGE_SUFFIXES",
    "list_files",
    "natural_key",
    "pick_named",
    "require_dir",
    "require_file",
    "select_files",
]


#: suffixes :func:`depthduet.io.read_depth` understands.
DEPTH_SUFFIXES: tuple[str, ...] = dio.DEPTH_SUFFIXES
#: colour image suffixes.
IMAGE_SUFFIXES: tuple[str, ...] = dio.IMAGE_SUFFIXES


def require_file(path: PathLike, what: str = "file") -> Path:
    """Return ``Path(path)`` or raise :class:`UserError` naming the missing ``what``."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: {what} not found")
    return p


def require_dir(path: PathLike, what: str = "folder") -> Path:
    """Return ``Path(path)`` or raise :class:`UserError` naming the missing folder."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"{p}: {what} not found (expected a directory)")
    return p


def list_files(
    folder: PathLike, suffixes: Sequence[str], *, broken_links: bool = False
) -> list[Path]:
    """Files directly in ``folder`` whose suffix (case-insensitive) is in ``suffixes``, sorted
    in natural order (``f2`` before ``f10``).

    ``broken_links=True`` also lists links that point nowhere (dangling or looping), so that a
    command processing the folder file by file reports them instead of skipping them silently.
    """
    folder = require_dir(folder)
    files = [
        p
        for p in folder.iterdir()
        if (p.is_file() or (broken_links and p.is_symlink() and not p.exists()))
        and p.suffix.lower() in suffixes
    ]
    return sorted(files, key=natural_key)


def pick_named(
    available: dict[str, Any], names: Sequence[str], error: Callable[[str], str]
) -> list[Any]:
    """``[available[n] for n in names]``; the first missing name raises ``UserError(error(name))``
    (each loader words the message for its own layout)."""
    missing = [n for n in names if n not in available]
    if missing:
        raise UserError(error(missing[0]))
    return [available[n] for n in names]


def select_files(
    files: list[Path],
    names: Sequence[str] | None,
    missing: Callable[[str], str],
    empty: str,
    index: dict[str, Path] | None = None,
) -> list[Path]:
    """``files``, or the ones ``names`` selects, in the order of ``names``.

    A name is looked up in ``index`` (default: the files by stem). The first name without a
    file raises ``UserError(missing(name))``; nothing selected raises ``UserError(empty)``.
    """
    if names is not None:
        files = pick_named({f.stem: f for f in files} if index is None else index, names, missing)
    if not files:
        raise UserError(empty)
    return files


def _read_names(names: PathLike | Sequence[str] | None) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, (str, os.PathLike)):
        from depthduet.data.splits import read_split

        return read_split(names)
    return [str(n) for n in names]
