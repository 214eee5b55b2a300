"""Bounded, all-or-nothing zip extraction.

:func:`extract_zip` unpacks into a temporary folder beside the output and moves the result
into place only when every member was written; members escaping the output folder (``..``,
absolute paths, symlinks pointing outside), a total uncompressed size over a cap or a
member's compression ratio over a limit (a zip bomb) are refused with
:class:`UnsafeArchive` before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from depthduet.data.download.errors import DownloadError, UnsafeArchive
from depthduet.data.download.transfer import PathLike

__all__ = ["DEFAULT_MAX_UNZIPPED", "DEFAULT_MAX_RATIO", "RATIO_CHECK_MIN", "extract_zip"]

#: default cap on the total uncompressed size of one archive (bytes).
DEFAULT_MAX_UNZIPPED = 64 << 30
#: default cap on a member's uncompressed / compressed size ratio.
DEFAULT_MAX_RATIO = 100.0
#: members smaller than this (uncompressed, bytes) are exempt from the ratio check: small
#: files of repeated bytes compress far beyond any ratio and the total cap bounds them anyway.
RATIO_CHECK_MIN = 1 << 20


def _member_parts(name: str) -> list[str] | None:
    """Path components of a zip member name; ``None`` when the name is absolute (``/x``,
    ``C:x``) or holds a ``..`` component. Backslashes count as separators."""
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"[A-Za-z]:", n) or "\0" in n:
        return None
    parts = [p for p in n.split("/") if p not in ("", ".")]
    return None if ".." in parts else parts


def _is_symlink(m: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(m.external_attr >> 16)


#: what reading a damaged, encrypted or unsupported archive, or writing its members, raises.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError)


def _link_target(z: zipfile.ZipFile, m: zipfile.ZipInfo, archive: Path) -> str:
    """The target of symlink member ``m`` (its content; at most 4 KiB)."""
    if m.file_size > 4096:
        raise UnsafeArchive(f"{archive}: symlink member {m.filename!r} is {m.file_size} bytes long")
    try:
        return z.read(m).decode("utf-8", "surrogateescape")
    except _ZIP_ERRORS as e:
        raise DownloadError(f"{archive}: cannot read member {m.filename!r} ({e})") from None


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _plan_moves(src: Path, dst: Path, archive: Path) -> list[tuple[Path, Path]]:
    """Renames that merge folder ``src`` into ``dst``; a file / folder clash raises."""
    moves: list[tuple[Path, Path]] = []
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        entry_is_dir = entry.is_dir() and not entry.is_symlink()
        if not target.exists() and not target.is_symlink():
            moves.append((entry, target))
        elif entry_is_dir and target.is_dir():
            moves.extend(_plan_moves(entry, target, archive))
        elif entry_is_dir or (target.is_dir() and not target.is_symlink()):
            kind = "folder" if entry_is_dir else "file"
            raise DownloadError(
                f"{archive}: holds a {kind} {entry.name!r} where {target} already exists as "
                f"a {'file' if entry_is_dir else 'folder'}; nothing extracted"
            )
        else:
            moves.append((entry, target))  # a file replaces a file, as unzip -o does
    return moves


def extract_zip(
    path: PathLike,
    out_dir: PathLike,
    *,
    max_total: int = DEFAULT_MAX_UNZIPPED,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> list[Path]:
    """Unpack a ``.zip`` archive into ``out_dir`` (merged with what is there), all or nothing.

    Before anything is written every member is checked: a name that is absolute or holds a
    ``..`` component, a symlink whose target lies outside ``out_dir``, a total uncompressed
    size over ``max_total`` or a member (of at least :data:`RATIO_CHECK_MIN` bytes) whose
    uncompressed / compressed ratio exceeds ``max_ratio`` raise :class:`UnsafeArchive`. The
    members are then written into a temporary folder inside ``out_dir`` (counting the bytes
    actually produced against the same caps) and moved into place by renames once all are
    there; on any failure the temporary folder is removed, and ``out_dir`` too when this call
    created it. The archive itself is left alone.

    Args:
        path: the ``.zip`` file.
        out_dir: output folder.
        max_total: cap on the total uncompressed size (bytes).
        max_ratio: cap on a member's uncompressed / compressed size ratio.

    Returns:
        The extracted file paths (folders excluded), in archive order.

    Raises:
        UnsafeArchive: a member escaping ``out_dir`` or sizes past the limits.
        DownloadError: not a valid zip archive, not enough free disk space, a member that
            clashes with an existing file or folder, a read or write error.
    """
    p = Path(path)
    out = Path(out_dir).resolve()
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as e:
        detail = "" if isinstance(e, zipfile.BadZipFile) else f" ({e})"
        raise DownloadError(f"{p}: not a valid zip archive{detail}") from None
    with z:
        members, total = _checked_members(z, p, out, max_ratio)
        _check_room(p, out, total, max_total)
        created = next((q for q in (*reversed(out.parents), out) if not q.exists()), None)
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".depthduet-extract-", dir=out))
        try:
            links = _write_files(z, p, tmp, members, max_total)
            _write_links(z, p, out, tmp, links)
            for src_path, dst_path in _plan_moves(tmp, out, p):
                os.replace(src_path, dst_path)
        except _ZIP_ERRORS as e:
            _discard(tmp, created)
            raise DownloadError(f"{p}: extraction failed ({e}); nothing extracted") from None
        except BaseException:
            _discard(tmp, created)
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return [out.joinpath(*parts) for m, parts in members if not m.is_dir()]


def _checked_members(
    z: zipfile.ZipFile, p: Path, out: Path, max_ratio: float
) -> tuple[list[tuple[zipfile.ZipInfo, list[str]]], int]:
    """``(members with their path components, total uncompressed size)``, the archive's root
    entries left out.

    Raises:
        UnsafeArchive: a member written outside ``out``, expanding past ``max_ratio``, or a
            symlink pointing outside ``out``.
    """
    members: list[tuple[zipfile.ZipInfo, list[str]]] = []
    total = 0
    for m in z.infolist():
        parts = _member_parts(m.filename)
        if parts is None or (not parts and not m.is_dir()):
            raise UnsafeArchive(
                f"{p}: member {m.filename!r} would be written outside {out}; nothing extracted"
            )
        if not parts:
            continue
        total += m.file_size
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size >= RATIO_CHECK_MIN and ratio > max_ratio:
            raise UnsafeArchive(
                f"{p}: member {m.filename!r} expands {m.compress_size} -> {m.file_size} "
                f"bytes (ratio {ratio:.0f}, limit {max_ratio:g}), a likely zip bomb; "
                "nothing extracted",
                limit="max_ratio",
            )
        if _is_symlink(m):
            target = _link_target(z, m, p)
            resolved = os.path.normpath(os.path.join(str(out), *parts[:-1], target))
            if not target or os.path.isabs(target) or not _inside(str(out), resolved):
                raise UnsafeArchive(
                    f"{p}: member {m.filename!r} is a symlink to {target[:200]!r}, outside "
                    f"{out}; nothing extracted"
                )
        members.append((m, parts))
    return members, total


def _check_room(p: Path, out: Path, total: int, max_total: int) -> None:
    """Refuse an archive unpacking to more than ``max_total`` bytes (:class:`UnsafeArchive`) or
    to more than the free space under ``out`` (:class:`DownloadError`)."""
    if total > max_total:
        raise UnsafeArchive(
            f"{p}: unpacks to {total} bytes, more than the limit of {max_total}; nothing extracted",
            limit="max_total",
        )
    existing = next(q for q in (out, *out.parents) if q.exists())
    free = shutil.disk_usage(existing).free
    if total > free:
        raise DownloadError(
            f"{p}: unpacks to {total} bytes but only {free} are free under {existing}; "
            "nothing extracted"
        )


def _write_files(
    z: zipfile.ZipFile,
    p: Path,
    tmp: Path,
    members: list[tuple[zipfile.ZipInfo, list[str]]],
    max_total: int,
) -> list[tuple[zipfile.ZipInfo, Path]]:
    """Write the folders and files of ``members`` under ``tmp``, counting the bytes produced
    against their declared sizes and ``max_total``.

    Returns:
        The symlink members with their paths under ``tmp`` (not written yet).
    """
    written = 0
    links = []
    for m, parts in members:
        target = tmp.joinpath(*parts)
        if m.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_symlink(m):
            links.append((m, target))
            continue
        n = 0
        with z.open(m) as src, open(target, "wb") as f:
            while block := src.read(1 << 20):
                n += len(block)
                written += len(block)
                if n > m.file_size or written > max_total:
                    raise UnsafeArchive(
                        f"{p}: member {m.filename!r} unpacks to more bytes than "
                        "declared; nothing extracted"
                    )
                f.write(block)
    return links


def _write_links(
    z: zipfile.ZipFile, p: Path, out: Path, tmp: Path, links: list[tuple[zipfile.ZipInfo, Path]]
) -> None:
    """Make the symlinks (after the files, so that no write goes through a link), then check
    that each, chains of links resolved, stays inside ``tmp``."""
    real_tmp = os.path.realpath(tmp)
    for m, target in links:
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(_link_target(z, m, p), target)
    for m, target in links:  # chains of links are resolved only now
        if not _inside(real_tmp, os.path.realpath(target)):
            raise UnsafeArchive(
                f"{p}: member {m.filename!r} is a symlink that resolves outside {out}; "
                "nothing extracted"
            )


def _discard(tmp: Path, created: Path | None) -> None:
    """Remove the temporary folder, and the output folders this extraction created."""
    shutil.rmtree(tmp, ignore_errors=True)
    if created is not None:
        _remove_empty(created)


def _remove_empty(root: Path) -> None:
    from depthduet.paths import remove_empty_folders

    remove_empty_folders(root)
