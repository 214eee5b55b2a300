"""Atomic writes: a file is written to a temporary name in its folder, flushed to disk and renamed,
so an interrupted write never leaves a half-written file; :func:`fsync_path` flushes a folder's
entries too."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from depthduet.io.common import PathLike, file_error


def fsync_path(path: PathLike) -> None:
    """Flush a file or a folder (its entries: a rename) to disk, so that a rename after it
    cannot land before the data after a power loss; skipped where the platform cannot."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if Path(path).is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file atomically: ``write(f)`` fills a temporary file that is then renamed.

    The temporary file lives in the target folder (same file system), so ``os.replace`` is
    atomic; on any error it is removed and the target is left untouched.
    """
    p = Path(path)
    if p.is_dir():
        raise file_error(p, "is a directory, expected a file name")
    parent = p.parent if str(p.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise file_error(p, f"cannot create folder {parent}: {e.strerror or e}") from e
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise file_error(p, f"cannot write: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
        fsync_path(parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p
