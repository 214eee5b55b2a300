"""``depthduet download``: list the known dataset sources, fetch the public ones."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HELP = "list dataset sources; download the public ones (resumable, checksum-verified)"
DESCRIPTION = """\
Without a NAME, list the known sources: URL(s), size and sha256 where known, how the files are
verified, licence note and the depthduet loader that reads the result. With a NAME, download
its files into --out (an interrupted download resumes with an HTTP Range request when run
again). Each file with a known size or sha256 is verified once complete and before anything
is extracted; a mismatching file is deleted. Sources that need a registration or licence
acceptance (KITTI, Cityscapes, ToFMark) are not downloaded: their instructions are printed.
Writes download.yaml (source, files, sha256 of what was fetched) into --out.

--extract unpacks downloaded .zip archives all or nothing (into a temporary folder first).
An archive with a member escaping --out (.., an absolute path, a symlink pointing outside),
a total uncompressed size over --max-unzipped-size or a member (of 1 MiB or more) expanding
more than --max-ratio times is refused and deleted.

examples:
  depthduet download
  depthduet download middlebury_2005 --out data/middlebury2005
  depthduet download middlebury_2014 --out data/mb2014 --extract
  depthduet download kitti_raw
  depthduet download --url https://example.org/a.zip --sha256 <hex> --out data
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="source name (omit to list the sources)")
    p.add_argument("--out", type=Path, help="output folder")
    p.add_argument("--list", action="store_true", help="list the sources and exit")
    p.add_argument("--mirror", help="base URL replacing the original hosts (<mirror>/<file path>)")
    p.add_argument("--url", help="download one URL instead of a named source")
    p.add_argument("--sha256", help="expected sha256 of --url")
    p.add_argument("--size", metavar="BYTES", help="expected size of --url in bytes")
    p.add_argument("--no-resume", action="store_true", help="restart partial downloads")
    p.add_argument("--extract", action="store_true", help="unpack downloaded .zip archives")
    p.add_argument(
        "--max-unzipped-size",
        default="64G",
        metavar="SIZE",
        help="with --extract: cap on one archive's total uncompressed size, bytes or with a "
        "K/M/G/T suffix (powers of 1024; default 64G)",
    )
    p.add_argument(
        "--max-ratio",
        default="100",
        metavar="R",
        help="with --extract: cap on a member's uncompressed / compressed size ratio (default 100)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _fmt_size(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _list() -> int:
    from depthduet.data.download import SOURCES

    for s in SOURCES.values():
        kind = "registration required" if s.registration else f"{len(s.files)} file(s)"
        print(f"{s.name}: {s.title}")
        print(f"  {kind}; size {_fmt_size(s.total_size)}; homepage {s.homepage}")
        print(f"  licence: {s.licence}")
        print(f"  loader: {s.loader}")
        if not s.registration:
            print(f"  checks: {s.verification}")
        for f in s.files[:3]:
            print(f"  {f.url}  sha256 {f.sha256 or 'unknown'}")
        if len(s.files) > 3:
            print(f"  ... and {len(s.files) - 3} more")
    return 0


#: the record written into --out.
RECORD = "download.yaml"
#: UnsafeArchive.limit -> the option that sets it.
_LIMIT_OPTIONS = {"max_total": "--max-unzipped-size", "max_ratio": "--max-ratio"}
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _byte_count(text: str, option: str) -> int:
    """``"64G"`` -> 68719476736; ``UserError`` naming ``option`` for anything else."""
    from depthduet.errors import UserError

    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", text, flags=re.IGNORECASE)
    if m is None:
        raise UserError(f"{option} {text!r}: expected a byte count such as 1048576 or 64G")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def _positive(text: str, option: str) -> float:
    from depthduet.errors import UserError

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UserError(f"{option} {text!r}: expected a positive number")
    return value


def _progress(quiet: bool):
    if quiet:
        return None
    last: dict[str, int] = {}

    def cb(rel: str, done: int, total: int | None) -> None:
        step = done >> 24  # report every 16 MB
        if last.get(rel) != step or (total is not None and done == total):
            last[rel] = step
            tot = _fmt_size(total)
            print(f"\r{rel}: {_fmt_size(done)} / {tot}", end="", file=sys.stderr, flush=True)
            if total is not None and done == total:
                print(file=sys.stderr)

    return cb


def run(args: argparse.Namespace) -> int:
    from depthduet.config import save_config
    from depthduet.data.download import (
        RegistrationRequired,
        UnsafeArchive,
        download_file,
        extract_zip,
        fetch,
        get_source,
        sha256_file,
        url_file_name,
    )
    from depthduet.errors import UserError
    from depthduet.paths import first_missing_parent, remove_empty_folders

    if args.list or (args.name is None and args.url is None):
        return _list()
    if args.name is not None and args.url is not None:
        raise UserError("give either a source NAME or --url, not both")
    if args.url is None and (args.sha256 is not None or args.size is not None):
        raise UserError("--sha256 and --size apply to --url only (built-in sources carry theirs)")
    if args.name is not None:
        src = get_source(args.name)
        if src.registration:
            print(f"{src.name}: {src.title}")
            print(f"licence: {src.licence}")
            print(f"how to get it: {src.instructions}")
            print(f"then read it with {src.loader}")
            return 0
    if args.out is None:
        raise UserError("--out DIR is required to download")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"{args.out}: exists and is not a folder")
    size = None if args.size is None else _byte_count(args.size, "--size")
    max_total = _byte_count(args.max_unzipped_size, "--max-unzipped-size")
    max_ratio = _positive(args.max_ratio, "--max-ratio")
    if args.url is not None:
        name = url_file_name(args.url)  # before anything is written
        if name == RECORD:
            raise UserError(f"{args.url}: would overwrite the download record {RECORD}")
        targets = [args.out / name]
    else:
        targets = [args.out / f.path for f in get_source(args.name).files]
    # the folders this run creates (the topmost missing one of each target's folder), removed
    # again when they end up empty after a failure
    made = {first_missing_parent(t.parent) for t in targets} - {None}
    cb = _progress(args.quiet)
    try:
        if args.url is not None:
            fcb = None if cb is None else (lambda d, t: cb(name, d, t))
            paths = [
                download_file(
                    args.url,
                    targets[0],
                    sha256=args.sha256,
                    size=size,
                    resume=not args.no_resume,
                    progress=fcb,
                )
            ]
            source = {"url": args.url}
        else:
            paths = fetch(
                args.name, args.out, mirror=args.mirror, resume=not args.no_resume, progress=cb
            )
            source = {"name": args.name, "mirror": args.mirror}
        files = {}
        for p in paths:
            digest = sha256_file(p)
            files[str(p.relative_to(args.out))] = {"bytes": p.stat().st_size, "sha256": digest}
            print(f"{p}  {p.stat().st_size} bytes  sha256 {digest}")
        if args.extract:
            for p in paths:
                if p.suffix.lower() != ".zip":
                    continue
                try:
                    n = len(extract_zip(p, p.parent, max_total=max_total, max_ratio=max_ratio))
                except UnsafeArchive as e:
                    p.unlink(missing_ok=True)
                    hint = _LIMIT_OPTIONS.get(e.limit or "")
                    hint = f" (raise {hint} if you trust it)" if hint else ""
                    raise UnsafeArchive(f"{e}; {p.name} was deleted{hint}", e.limit) from None
                print(f"extracted {n} files from {p.name}")
    except RegistrationRequired as e:  # pragma: no cover - handled above
        print(str(e))
        return 0
    except BaseException:
        for folder in made:  # partial files stay: the next run resumes them
            if folder.is_dir():
                remove_empty_folders(folder)
        raise
    save_config(
        {"source": source, "files": files, "extract": bool(args.extract)},
        args.out / RECORD,
    )
    if args.name is not None:
        print(f"read it with {get_source(args.name).loader}")
    return 0
