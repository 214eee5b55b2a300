"""Resumable, verified HTTP(S) downloads.

:func:`download_file` fetches one URL into ``<dest>.part``. An interrupted download is resumed
with an HTTP ``Range: bytes=N-`` request (a server answering ``206 Partial Content`` continues
the file; one answering ``200`` sends it whole and the part file is restarted). When the
expected size is known, a server announcing another size is refused before any data are
written. The complete part file is checked against the expected size and SHA-256 (when known)
and only then renamed to ``dest``; a mismatch deletes it and raises :class:`DownloadError`
naming the file, the expected and the actual value. :func:`fetch` downloads every file of a
known source.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from depthduet.data.download.errors import DownloadError, RegistrationRequired
from depthduet.data.download.sources import get_source
from depthduet.paths import PathLike

__all__ = ["PathLike", "Progress", "sha256_file", "url_file_name", "download_file", "fetch"]

#: progress callback ``(bytes done, bytes total or None)``.
Progress = Callable[[int, int | None], None]


def sha256_file(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """Lower-case hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            h.update(block)
    return h.hexdigest()


def _verify(part: Path, dest: Path, size: int | None, sha256: str | None, url: str) -> None:
    """Check ``part`` (the bytes meant for ``dest``); a mismatch deletes it and raises."""
    if size is not None:
        got = part.stat().st_size
        if got != size:
            part.unlink()
            raise DownloadError(
                f"{dest}: size mismatch: expected {size} bytes, got {got} (from {url}); "
                "the download was deleted"
            )
    if sha256 is not None:
        got_sha = sha256_file(part)
        if got_sha != sha256.lower():
            part.unlink()
            raise DownloadError(
                f"{dest}: sha256 mismatch: expected {sha256.lower()}, got {got_sha} "
                f"(from {url}); the download was deleted"
            )


def _check_url(url: str) -> urllib.parse.SplitResult:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (validates the port)
    except ValueError as e:
        raise DownloadError(f"{url}: not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http(s) URLs are supported")
    if not parts.hostname:
        raise DownloadError(f"{url}: the URL names no host")
    return parts


def url_file_name(url: str) -> str:
    """The file name a download of ``url`` is saved under: its last path component.

    Raises:
        DownloadError: not an http(s) URL with a host, or a last path component that is no
            usable file name (empty, ``.``, ``..``, an encoded ``/``, too long).
    """
    parts = _check_url(url)
    name = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1])
    if (
        name in ("", ".", "..")
        or any(c in name for c in "/\\\0")
        or len(name.encode("utf-8", "surrogateescape")) > 255
    ):
        raise DownloadError(
            f"{url}: its last path component {name!r} is not a file name; give a URL that "
            "ends with the file's name"
        )
    return name


def _open(url: str, start: int, timeout: float):  # -> http.client.HTTPResponse
    req = urllib.request.Request(url, headers={"User-Agent": "depthduet-download"})
    if start > 0:
        req.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked)


def download_file(
    url: str,
    dest: PathLike,
    *,
    sha256: str | None = None,
    size: int | None = None,
    resume: bool = True,
    timeout: float = 60.0,
    chunk_size: int = 1 << 20,
    progress: Progress | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (resumable, verified).

    An existing ``dest`` that passes the size / SHA-256 checks is kept without a request (one
    that fails them is deleted and downloaded again). Otherwise the data go to
    ``dest + ".part"``; with ``resume`` an existing part file is continued with an HTTP Range
    request. A server announcing a size other than ``size`` is refused before any byte is
    written. When complete the part file is checked and only then renamed to ``dest``.

    Args:
        url: ``http://`` or ``https://`` URL.
        dest: output file.
        sha256: expected hex digest (checked when given).
        size: expected size in bytes (checked when given).
        resume: continue a ``.part`` file left by an interrupted download.
        timeout: socket timeout (s).
        chunk_size: read size (bytes).
        progress: called with (bytes done, total or None) after each chunk.

    Returns:
        ``Path(dest)``.

    Raises:
        DownloadError: bad URL, HTTP / network error, unexpected response, size or checksum
            mismatch (the mismatching file is deleted).
    """
    dest, sha256 = _checked_request(url, dest, sha256, size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        try:
            _verify(dest, dest, size, sha256, url)
            return dest
        except DownloadError:
            pass  # a bad existing file was deleted: download again
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if (resume and part.is_file()) else 0
    if not resume and part.exists():
        part.unlink()
    if size is not None and start > size:
        part.unlink()
        start = 0
    try:
        resp, start = _response(url, part, start, size, timeout)
        if resp is None:  # range past the end and the part file complete
            _verify(part, dest, size, sha256, url)
            os.replace(part, dest)
            return dest
        with resp:
            done, total = _write_body(resp, url, part, dest, start, size, chunk_size, progress)
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"{url}: download failed ({reason}); run again to resume") from None
    if size is not None and done > size:
        part.unlink()
        raise DownloadError(
            f"{dest}: size mismatch: expected {size} bytes, the server sent more (from {url}); "
            "the download was deleted"
        )
    if total is not None and done < total:
        raise DownloadError(
            f"{url}: connection closed at {done} of {total} bytes; run again to resume"
        )
    _verify(part, dest, size, sha256, url)
    os.replace(part, dest)
    return dest


def _checked_request(
    url: str, dest: PathLike, sha256: str | None, size: int | None
) -> tuple[Path, str | None]:
    """``(Path(dest), sha256 stripped)`` once the expected digest, size, URL and file name are
    usable; else :class:`DownloadError` (nothing downloaded)."""
    if sha256 is not None:
        sha256 = sha256.strip()
        if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise DownloadError(
                f"{url}: expected sha256 {sha256!r} is not a SHA-256 digest (64 hex "
                "characters); nothing downloaded"
            )
    if size is not None and size < 0:
        raise DownloadError(f"{url}: expected size {size} is negative; nothing downloaded")
    _check_url(url)
    dest = Path(dest)
    if dest.name in ("", ".", ".."):
        raise DownloadError(f"{dest}: not a file name; nothing downloaded")
    return dest, sha256


def _response(url: str, part: Path, start: int, size: int | None, timeout: float):
    """``(response, start)`` of a request for the bytes from ``start`` on, or ``(None, start)``
    when the server finds that range past the end of a part file that may be complete (its
    size is ``size``, or unknown). A part file longer than the server's file is deleted and the
    whole file asked for (``start`` 0)."""
    try:
        return _open(url, start, timeout), start
    except urllib.error.HTTPError as e:
        if e.code == 416 and start > 0:  # range past the end: the part may be complete
            if size is None or start == size:
                return None, start
            part.unlink()
            return _open(url, 0, timeout), 0
        raise


def _body_mode(resp, url: str, start: int) -> tuple[str, int]:
    """``(file mode, start)`` for the response body: appended to the part file when the server
    resumed at ``start`` (``206``), written from byte 0 when it sends the whole file (``200``).

    Raises:
        DownloadError: another status, or a resume at another byte.
    """
    status = getattr(resp, "status", 200)
    if start > 0 and status == 206:
        crange = resp.headers.get("Content-Range", "")
        if not crange.startswith(f"bytes {start}-"):
            raise DownloadError(f"{url}: server resumed at {crange!r}, asked for byte {start}")
        return "ab", start
    if status != 200:
        raise DownloadError(f"{url}: unexpected HTTP status {status}")
    return "wb", 0  # full body: restart the part file


def _write_body(
    resp,
    url: str,
    part: Path,
    dest: Path,
    start: int,
    size: int | None,
    chunk_size: int,
    progress: Progress | None,
) -> tuple[int, int | None]:
    """Write the response body into ``part``, stopping past ``size`` bytes.

    Returns:
        ``(bytes in the part file, or past size; total announced or expected, or None)``.

    Raises:
        DownloadError: a bad status, or an announced size other than ``size`` (refused before
            any byte is written; the part file is deleted).
    """
    mode, start = _body_mode(resp, url, start)
    length = resp.headers.get("Content-Length")
    total = start + int(length) if length is not None and length.isdigit() else size
    if size is not None and total != size:
        if part.exists():
            part.unlink()
        raise DownloadError(
            f"{dest}: size mismatch: expected {size} bytes, the server sends {total} "
            f"(from {url}); nothing kept"
        )
    done = start
    with open(part, mode) as f:
        while block := resp.read(chunk_size):
            done += len(block)
            if size is not None and done > size:
                break
            f.write(block)
            if progress is not None:
                progress(done, total)
    return done, total


def _mirrored(url: str, mirror: str | None, rel: str) -> str:
    if mirror is None:
        return url
    return mirror.rstrip("/") + "/" + urllib.parse.quote(rel)


def fetch(
    name: str,
    out_dir: PathLike,
    *,
    mirror: str | None = None,
    resume: bool = True,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[Path]:
    """Download every file of source ``name`` into ``out_dir`` (keeping their relative paths).

    Args:
        name: a key of :data:`SOURCES`.
        out_dir: output folder.
        mirror: base URL replacing the original hosts: file ``rel`` is fetched from
            ``<mirror>/<rel>`` (a local copy, or a test server).
        resume: continue partial downloads.
        progress: called with (relative path, bytes done, total or None).

    Raises:
        RegistrationRequired: for sources without automatic downloads (message = instructions).
        DownloadError: see :func:`download_file`.
    """
    src = get_source(name)
    if src.registration or not src.files:
        raise RegistrationRequired(f"{src.name} needs registration: {src.instructions}")
    out = Path(out_dir)
    paths = []
    for rf in src.files:
        cb = None if progress is None else (lambda d, t, rel=rf.path: progress(rel, d, t))
        paths.append(
            download_file(
                _mirrored(rf.url, mirror, rf.path),
                out / rf.path,
                sha256=rf.sha256,
                size=rf.size,
                resume=resume,
                progress=cb,
            )
        )
    return paths
