"""Download a named dataset source or one URL into a folder (``depthduet download``).

Every file is verified (size, sha256) as :mod:`depthduet.data.download` fetches it; zip
archives are unpacked on request, all or nothing, under size and ratio limits. The folder
gets ``download.yaml``: the source, and the size and sha256 of every file fetched. A failed
download leaves its partial files (the next run resumes them) and removes the folders it
created that stayed empty.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depthduet.apps.messages import Messages, console
from depthduet.errors import UserError

__all__ = ["RECORD", "DownloadRequest", "byte_count", "download", "positive_number"]

#: the record written into the output folder.
RECORD = "download.yaml"
#: UnsafeArchive.limit -> the option that sets it.
_LIMIT_OPTIONS = {"max_total": "--max-unzipped-size", "max_ratio": "--max-ratio"}
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

#: ``progress(file, bytes done, total bytes or None)``
Progress = Callable[[str, int, "int | None"], None]


@dataclass
class DownloadRequest:
    """What to download.

    Attributes:
        out: the output folder.
        name: a source name (``depthduet.data.download.SOURCES``), or ``None`` with ``url``.
        url: one URL instead of a named source; ``sha256`` / ``size`` verify it.
        mirror: base URL replacing the original hosts of a named source.
        resume: continue partial downloads.
        extract: unpack downloaded ``.zip`` archives, refusing one over ``max_total`` bytes
            uncompressed or with a member expanding more than ``max_ratio`` times.

    Sizes are byte counts, or text with a K/M/G/T suffix (powers of 1024: ``"64G"``).
    """

    out: Path | None
    name: str | None = None
    url: str | None = None
    sha256: str | None = None
    size: int | str | None = None
    mirror: str | None = None
    resume: bool = True
    extract: bool = False
    max_total: int | str = "64G"
    max_ratio: float | str = 100.0


def download(
    req: DownloadRequest, messages: Messages | None = None, progress: Progress | None = None
) -> list[Path]:
    """Download ``req`` (see the module docstring); a source that needs a registration is not
    downloaded: its instructions are reported on ``messages.out`` instead.

    Returns:
        The files fetched (none for a registration-only source).

    Raises:
        UserError: bad arguments, an unknown source, a failed or unverifiable download, an
            unsafe archive (deleted).
    """
    from depthduet.data.download import get_source

    messages = console("download") if messages is None else messages
    if req.name is not None and req.url is not None:
        raise UserError("give either a source NAME or --url, not both")
    if req.url is None and (req.sha256 is not None or req.size is not None):
        raise UserError("--sha256 and --size apply to --url only (built-in sources carry theirs)")
    if req.name is not None:
        src = get_source(req.name)
        if src.registration:
            messages.out(f"{src.name}: {src.title}")
            messages.out(f"licence: {src.licence}")
            messages.out(f"how to get it: {src.instructions}")
            messages.out(f"then read it with {src.loader}")
            return []
    if req.out is None:
        raise UserError("--out DIR is required to download")
    if req.out.exists() and not req.out.is_dir():
        raise UserError(f"{req.out}: exists and is not a folder")
    size = None if req.size is None else byte_count(req.size, "--size")
    max_total = byte_count(req.max_total, "--max-unzipped-size")
    max_ratio = positive_number(req.max_ratio, "--max-ratio")
    req = dataclasses.replace(req, size=size, max_total=max_total, max_ratio=max_ratio)
    return _download_into(req, req.out, messages, progress)


def byte_count(text: int | str, option: str) -> int:
    """``"64G"`` -> 68719476736 (powers of 1024; an int is returned as it is).

    Raises:
        UserError: anything else, naming ``option``.
    """
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", text, flags=re.IGNORECASE)
    if m is None:
        raise UserError(f"{option} {text!r}: expected a byte count such as 1048576 or 64G")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def positive_number(text: float | str, option: str) -> float:
    """``text`` as a finite number > 0.

    Raises:
        UserError: anything else, naming ``option``.
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UserError(f"{option} {text!r}: expected a positive number")
    return value


def _targets(req: DownloadRequest, out: Path) -> list[Path]:
    """The files ``req`` writes into ``out``."""
    from depthduet.data.download import get_source, url_file_name

    if req.url is None:
        return [out / f.path for f in get_source(req.name).files]  # type: ignore[arg-type]
    name = url_file_name(req.url)  # before anything is written
    if name == RECORD:
        raise UserError(f"{req.url}: would overwrite the download record {RECORD}")
    return [out / name]


def _download_into(
    req: DownloadRequest, out: Path, messages: Messages, progress: Progress | None
) -> list[Path]:
    from depthduet.config import save_config
    from depthduet.data.download import RegistrationRequired, get_source
    from depthduet.paths import first_missing_parent, remove_empty_folders

    targets = _targets(req, out)
    # the folders this run creates (the topmost missing one of each target's folder), removed
    # again when they end up empty after a failure
    made = {first_missing_parent(t.parent) for t in targets} - {None}
    try:
        paths, source = _fetch(req, out, targets[0], progress)
        files = _describe(paths, out, messages)
        if req.extract:
            _extract(paths, req, messages)
    except RegistrationRequired as e:  # pragma: no cover - handled by download()
        messages.out(str(e))
        return []
    except BaseException:
        for folder in made:  # partial files stay: the next run resumes them
            if folder is not None and folder.is_dir():
                remove_empty_folders(folder)
        raise
    save_config({"source": source, "files": files, "extract": bool(req.extract)}, out / RECORD)
    if req.name is not None:
        messages.out(f"read it with {get_source(req.name).loader}")
    return paths


def _fetch(
    req: DownloadRequest, out: Path, target: Path, progress: Progress | None
) -> tuple[list[Path], dict[str, Any]]:
    """Download the files; returns them and the source's record."""
    from depthduet.data.download import download_file, fetch

    if req.url is None:
        paths = fetch(req.name, out, mirror=req.mirror, resume=req.resume, progress=progress)
        return paths, {"name": req.name, "mirror": req.mirror}
    name = target.name
    fcb = None if progress is None else (lambda d, t: progress(name, d, t))
    path = download_file(
        req.url, target, sha256=req.sha256, size=req.size, resume=req.resume, progress=fcb
    )
    return [path], {"url": req.url}


def _describe(paths: list[Path], out: Path, messages: Messages) -> dict[str, dict[str, Any]]:
    """Size and sha256 of each file (reported on ``messages.out``), by path under ``out``."""
    from depthduet.data.download import sha256_file

    files = {}
    for p in paths:
        digest = sha256_file(p)
        files[str(p.relative_to(out))] = {"bytes": p.stat().st_size, "sha256": digest}
        messages.out(f"{p}  {p.stat().st_size} bytes  sha256 {digest}")
    return files


def _extract(paths: list[Path], req: DownloadRequest, messages: Messages) -> None:
    """Unpack each ``.zip`` beside itself; an unsafe archive is deleted."""
    from depthduet.data.download import UnsafeArchive, extract_zip

    for p in paths:
        if p.suffix.lower() != ".zip":
            continue
        try:
            limits = {"max_total": int(req.max_total), "max_ratio": float(req.max_ratio)}
            n = len(extract_zip(p, p.parent, **limits))
        except UnsafeArchive as e:
            p.unlink(missing_ok=True)
            hint = _LIMIT_OPTIONS.get(e.limit or "")
            hint = f" (raise {hint} if you trust it)" if hint else ""
            raise UnsafeArchive(f"{e}; {p.name} was deleted{hint}", e.limit) from None
        messages.out(f"extracted {n} files from {p.name}")
