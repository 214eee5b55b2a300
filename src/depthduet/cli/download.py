"""``depthduet download``: list the known dataset sources, fetch the public ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from depthduet.apps.download import RECORD  # noqa: F401 - the record written into --out
from depthduet.cli import options_as

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
    p.add_argument(
        "--no-resume", dest="resume", action="store_false", help="restart partial downloads"
    )
    p.add_argument("--extract", action="store_true", help="unpack downloaded .zip archives")
    p.add_argument(
        "--max-unzipped-size",
        dest="max_total",
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
    """List the sources, or download one (or ``--url``) into ``--out``."""
    from depthduet.apps.download import DownloadRequest, download
    from depthduet.apps.messages import console

    if args.list or (args.name is None and args.url is None):
        return _list()
    download(options_as(DownloadRequest, args), console("download"), _progress(args.quiet))
    return 0
