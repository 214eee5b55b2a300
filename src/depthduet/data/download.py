"""Download helpers: known public sources, resumable HTTP downloads, checksum verification,
bounded archive extraction.

:func:`download_file` fetches one URL into ``<dest>.part``. An interrupted download is resumed
with an HTTP ``Range: bytes=N-`` request (a server answering ``206 Partial Content`` continues
the file; one answering ``200`` sends it whole and the part file is restarted). When the
expected size is known, a server announcing another size is refused before any data are
written. The complete part file is checked against the expected size and SHA-256 (when known)
and only then renamed to ``dest``; a mismatch deletes it and raises :class:`DownloadError`
naming the file, the expected and the actual value.

:data:`SOURCES` lists the datasets depthduet reads, with their URLs, licence notes and the
loader that reads the downloaded layout. Sources behind a registration or licence acceptance
(KITTI, Cityscapes, ToFMark) have no URLs here: :func:`fetch` raises
:class:`RegistrationRequired` whose message holds the instructions. A SHA-256 and size are
pinned only where the exact bytes are published (the monodepth2 split files, fetched from a
fixed commit of the repository); NYU, Middlebury and Sintel publish no checksum, so their
files are checked only for completeness against the server's ``Content-Length``
(:attr:`Source.verification` says which applies) and the SHA-256 of what was downloaded is
recorded so that users can pin it.

:func:`extract_zip` unpacks into a temporary folder beside the output and moves the result
into place only when every member was written; members escaping the output folder (``..``,
absolute paths, symlinks pointing outside), a total uncompressed size over a cap or a
member's compression ratio over a limit (a zip bomb) are refused with
:class:`UnsafeArchive` before anything is written.

Nothing here runs on import; tests use a local HTTP server (127.0.0.1) through ``mirror``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from depthduet.errors import UserError

__all__ = [
    "DownloadError",
    "RegistrationRequired",
    "UnsafeArchive",
    "RemoteFile",
    "Source",
    "SOURCES",
    "get_source",
    "sha256_file",
    "url_file_name",
    "download_file",
    "fetch",
    "extract_zip",
    "DEFAULT_MAX_UNZIPPED",
    "DEFAULT_MAX_RATIO",
    "RATIO_CHECK_MIN",
]

PathLike = str | os.PathLike[str]
#: progress callback ``(bytes done, bytes total or None)``.
Progress = Callable[[int, int | None], None]


class DownloadError(UserError):
    """A download failed (network error, HTTP error, size or checksum mismatch)."""


class RegistrationRequired(UserError):
    """The source needs a registration / licence acceptance; the message says what to do."""


class UnsafeArchive(DownloadError):
    """An archive refused before extraction: a member escaping the output folder, a symlink
    pointing outside it, or sizes past the limits (a likely zip bomb).

    Attributes:
        limit: ``"max_total"`` or ``"max_ratio"`` when a configurable limit refused it, else
            ``None`` (a path escaping the output folder is never accepted).
    """

    def __init__(self, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit


#: default cap on the total uncompressed size of one archive (bytes).
DEFAULT_MAX_UNZIPPED = 64 << 30
#: default cap on a member's uncompressed / compressed size ratio.
DEFAULT_MAX_RATIO = 100.0
#: members smaller than this (uncompressed, bytes) are exempt from the ratio check: small
#: files of repeated bytes compress far beyond any ratio and the total cap bounds them anyway.
RATIO_CHECK_MIN = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source.

    Attributes:
        url: where to get it.
        path: where it goes, relative to the output folder (may contain sub-folders).
        size: size in bytes, when known.
        sha256: lower-case hex digest, when known.
    """

    url: str
    path: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Source:
    """A dataset (or part of one) that ``depthduet download`` knows.

    Attributes:
        name: command-line name.
        title: one-line description.
        homepage: the dataset's page.
        licence: licence / terms note (read the homepage before use).
        loader: the depthduet class that reads the downloaded layout.
        files: files fetched automatically (empty for registration-only sources).
        instructions: what to do by hand (registration-only sources, archives to unpack).
    """

    name: str
    title: str
    homepage: str
    licence: str
    loader: str
    files: tuple[RemoteFile, ...] = ()
    instructions: str = ""
    registration: bool = False

    @property
    def verification(self) -> str:
        """How the downloaded files are checked, in words."""
        if not self.files:
            return "nothing is downloaded"
        n = len(self.files)
        pinned = sum(f.sha256 is not None for f in self.files)
        sized = sum(f.size is not None for f in self.files)
        if pinned == n:
            return "SHA-256 and size pinned for every file"
        if pinned:
            return f"SHA-256 pinned for {pinned} of {n} files; the others are not verified"
        if sized == n:
            return "size only (the host publishes no checksum)"
        return (
            "not verified: the host publishes no checksum or exact size (only completeness "
            "against Content-Length; the SHA-256 of what was fetched goes to download.yaml)"
        )

    @property
    def total_size(self) -> int | None:
        """Sum of the file sizes, ``None`` when any is unknown."""
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


_MB05 = "https://vision.middlebury.edu/stereo/data/scenes{year}/FullSize/{scene}/"


def _middlebury_0506(year: int, scenes: tuple[str, ...]) -> tuple[RemoteFile, ...]:
    out = []
    for s in scenes:
        base = _MB05.format(year=year, scene=s)
        out.append(RemoteFile(base + "Illum1/Exp0/view1.png", f"{s}/Illum1/Exp0/view1.png"))
        out.append(RemoteFile(base + "disp1.png", f"{s}/disp1.png"))
        out.append(RemoteFile(base + "dmin.txt", f"{s}/dmin.txt"))
    return tuple(out)


_MB14_SCENES = (
    "Adirondack", "Backpack", "Bicycle1", "Cable", "Classroom1", "Couch", "Flowers", "Jadeplant",
    "Mask", "Motorcycle", "Piano", "Pipes", "Playroom", "Playtable", "Recycle", "Shelves",
    "Shopvac", "Sticks", "Storage", "Sword1", "Sword2", "Umbrella", "Vintage",
)  # fmt: skip
#: monodepth2's split files at a fixed commit (the repository's head since January 2022), so
#: that the pinned SHA-256 and sizes below stay valid; they are those of the files' bytes in
#: that commit (git blobs cb8b42f, 178b25e, aceb95f, e4d7159).
_MD2 = (
    "https://raw.githubusercontent.com/nianticlabs/monodepth2/"
    "b676244e5a1ca55564eb5d16ab521a48f823af31/splits/"
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "nyu_v2_labeled",
            "NYU Depth v2 labelled set: 1449 RGB-D frames (MATLAB v7.3, about 2.8 GB)",
            "https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html",
            "NYU Depth v2 (Silberman et al., ECCV 2012): free for research; cite the paper",
            "depthduet.data.nyu.NYUv2MatDataset",
            (
                RemoteFile(
                    "https://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat",
                    "nyu_depth_v2_labeled.mat",
                ),
                RemoteFile(
                    "https://horatio.cs.nyu.edu/mit/silberman/indoor_seg_sup/splits.mat",
                    "splits.mat",
                ),
            ),
        ),
        Source(
            "middlebury_2005",
            "Middlebury 2005 (6 scenes with GT): full-size left view, GT disparity, dmin",
            "https://vision.middlebury.edu/stereo/data/scenes2005/",
            "Middlebury stereo data (Scharstein & Pal, CVPR 2007): research use; cite it",
            "depthduet.data.middlebury.MiddleburyDataset",
            _middlebury_0506(2005, ("Art", "Books", "Dolls", "Laundry", "Moebius", "Reindeer")),
        ),
        Source(
            "middlebury_2006",
            "Middlebury 2006 (6 of 21 scenes): full-size left view, GT disparity, dmin",
            "https://vision.middlebury.edu/stereo/data/scenes2006/",
            "Middlebury stereo data (Hirschmueller & Scharstein, CVPR 2007): research use; cite it",
            "depthduet.data.middlebury.MiddleburyDataset",
            _middlebury_0506(2006, ("Aloe", "Baby1", "Bowling1", "Cloth1", "Flowerpots", "Midd1")),
        ),
        Source(
            "middlebury_2014",
            "Middlebury 2014: 23 scenes, im0/im1, disp0/disp1 .pfm, calib.txt (zip per scene)",
            "https://vision.middlebury.edu/stereo/data/scenes2014/",
            "Middlebury stereo data (Scharstein et al., GCPR 2014): research use; cite it",
            "depthduet.data.middlebury.MiddleburyDataset",
            tuple(
                RemoteFile(
                    f"https://vision.middlebury.edu/stereo/data/scenes2014/zip/{s}-perfect.zip",
                    f"{s}-perfect.zip",
                )
                for s in _MB14_SCENES
            ),
            instructions="Unzip each <Scene>-perfect.zip in place (one folder per scene).",
        ),
        Source(
            "sintel_depth",
            "MPI Sintel depth + camera training data (.dpt, .cam); frames are in sintel_complete",
            "https://sintel.is.tue.mpg.de/depth",
            "MPI Sintel (Butler et al., ECCV 2012): research use, see the site's terms",
            "depthduet.data.sintel.SintelDataset",
            (
                RemoteFile(
                    "https://files.is.tue.mpg.de/jwulff/sintel/MPI-Sintel-depth-training-20150305.zip",
                    "MPI-Sintel-depth-training-20150305.zip",
                ),
            ),
            instructions="Unzip into the same root as sintel_complete (training/depth, training/camdata_left).",
        ),
        Source(
            "sintel_complete",
            "MPI Sintel complete (clean/final frames, flow) about 5.3 GB",
            "https://sintel.is.tue.mpg.de/downloads",
            "MPI Sintel (Butler et al., ECCV 2012): research use, see the site's terms",
            "depthduet.data.sintel.SintelDataset",
            (
                RemoteFile(
                    "https://files.is.tue.mpg.de/sintel/MPI-Sintel-complete.zip",
                    "MPI-Sintel-complete.zip",
                ),
            ),
            instructions="Unzip into the Sintel root (training/clean, training/final).",
        ),
        Source(
            "kitti_splits",
            "KITTI Eigen / Eigen-Zhou split files (monodepth2 format)",
            "https://github.com/nianticlabs/monodepth2/tree/master/splits",
            "monodepth2 repository licence: non-commercial use only (Niantic)",
            "depthduet.data.splits.read_kitti_split",
            (
                RemoteFile(
                    _MD2 + "eigen/test_files.txt",
                    "eigen/test_files.txt",
                    35547,
                    "e226d4ca16e0e6e9695435014347dcf973588531330536fd8a68d298ef091a6b",
                ),
                RemoteFile(
                    _MD2 + "eigen_zhou/train_files.txt",
                    "eigen_zhou/train_files.txt",
                    1762076,
                    "00173a231642151c4693274e701ddd4cae7916520a757c7a94eae8e1173f7b0c",
                ),
                RemoteFile(
                    _MD2 + "eigen_zhou/val_files.txt",
                    "eigen_zhou/val_files.txt",
                    195800,
                    "64a868b8d2c66c3979a2d74c22ea2e9146850d5b9f5786ed8e5f92201ba1ad04",
                ),
                RemoteFile(
                    _MD2 + "eigen_benchmark/test_files.txt",
                    "eigen_benchmark/test_files.txt",
                    28471,
                    "d56e5e509e6960a01fb93795f85028ac6e4a82ad40e64b6e968988e4db95b9be",
                ),
            ),
        ),
        Source(
            "kitti_raw",
            "KITTI raw drives (synced + rectified) with calibration, about 175 GB",
            "https://www.cvlibs.net/datasets/kitti/raw_data.php",
            "KITTI: CC BY-NC-SA 3.0 (non-commercial); registration required",
            "depthduet.data.kitti.KittiRawDataset",
            registration=True,
            instructions=(
                "Register at https://www.cvlibs.net/datasets/kitti/user_register.php, then download "
                "the [synced+rectified data] and [calibration] zip of each drive (or the site's "
                "raw_data_downloader script) and unzip everything into one folder so that it holds "
                "<date>/calib_cam_to_cam.txt and <date>/<date>_drive_XXXX_sync/."
            ),
        ),
        Source(
            "kitti_depth",
            "KITTI depth completion / prediction: annotated depth maps (data_depth_annotated)",
            "https://www.cvlibs.net/datasets/kitti/eval_depth_all.php",
            "KITTI: CC BY-NC-SA 3.0 (non-commercial); registration required",
            "depthduet.data.kitti.KittiRawDataset (gt='annotated', annotated_root=...)",
            registration=True,
            instructions=(
                "Register at cvlibs.net, download data_depth_annotated.zip and unzip it; pass the "
                "folder holding train/ and val/ as annotated_root."
            ),
        ),
        Source(
            "kitti_odometry",
            "KITTI odometry colour sequences + calibration + poses",
            "https://www.cvlibs.net/datasets/kitti/eval_odometry.php",
            "KITTI: CC BY-NC-SA 3.0 (non-commercial); registration required",
            "depthduet.data.kitti.KittiOdometryDataset",
            registration=True,
            instructions=(
                "Register at cvlibs.net, download data_odometry_color.zip, data_odometry_calib.zip and "
                "data_odometry_poses.zip and unzip them into one folder (dataset/sequences, "
                "dataset/poses)."
            ),
        ),
        Source(
            "cityscapes",
            "Cityscapes leftImg8bit + disparity + camera (+ rightImg8bit, leftImg8bit_sequence)",
            "https://www.cityscapes-dataset.com/downloads/",
            "Cityscapes licence: non-commercial research; registration required",
            "depthduet.data.cityscapes.CityscapesDataset",
            registration=True,
            instructions=(
                "Register at https://www.cityscapes-dataset.com, download leftImg8bit_trainvaltest.zip, "
                "disparity_trainvaltest.zip, camera_trainvaltest.zip (and rightImg8bit_trainvaltest.zip / "
                "leftImg8bit_sequence_trainvaltest.zip for stereo / neighbours) and unzip them into one "
                "folder."
            ),
        ),
        Source(
            "tofmark",
            "ToFMark (Ferstl et al., ICCV 2013): intensity + real ToF + ground truth",
            "https://rvlab.icg.tugraz.at/tofmark/",
            "ToFMark: academic use; cite Ferstl et al. ICCV 2013",
            "depthduet.data.tofmark.ToFMarkDataset",
            registration=True,
            instructions=(
                "Download the benchmark .mat files from the ToFMark page (https://rvlab.icg.tugraz.at/"
                "tofmark/) after accepting its terms, and put them in one folder."
            ),
        ),
    ]
}


def get_source(name: str) -> Source:
    """The :class:`Source` called ``name``; unknown names raise ``UserError`` listing them."""
    try:
        return SOURCES[name]
    except KeyError:
        raise UserError(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}") from None


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
        try:
            resp = _open(url, start, timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and start > 0:  # range past the end: the part may be complete
                if size is None or start == size:
                    _verify(part, dest, size, sha256, url)
                    os.replace(part, dest)
                    return dest
                part.unlink()
                start = 0
                resp = _open(url, 0, timeout)
            else:
                raise
        with resp:
            status = getattr(resp, "status", 200)
            mode = "wb"
            if start > 0 and status == 206:
                crange = resp.headers.get("Content-Range", "")
                if not crange.startswith(f"bytes {start}-"):
                    raise DownloadError(
                        f"{url}: server resumed at {crange!r}, asked for byte {start}"
                    )
                mode = "ab"
            elif status != 200:
                raise DownloadError(f"{url}: unexpected HTTP status {status}")
            else:
                start = 0  # full body: restart the part file
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
        if total > max_total:
            raise UnsafeArchive(
                f"{p}: unpacks to {total} bytes, more than the limit of {max_total}; nothing "
                "extracted",
                limit="max_total",
            )
        existing = next(q for q in (out, *out.parents) if q.exists())
        free = shutil.disk_usage(existing).free
        if total > free:
            raise DownloadError(
                f"{p}: unpacks to {total} bytes but only {free} are free under {existing}; "
                "nothing extracted"
            )
        created = next((q for q in (*reversed(out.parents), out) if not q.exists()), None)
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".depthduet-extract-", dir=out))
        try:
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
            real_tmp = os.path.realpath(tmp)
            for m, target in links:  # after the files, so that no write goes through a link
                if target.is_symlink() or target.exists():
                    target.unlink()
                os.symlink(_link_target(z, m, p), target)
            for m, target in links:  # chains of links are resolved only now
                if not _inside(real_tmp, os.path.realpath(target)):
                    raise UnsafeArchive(
                        f"{p}: member {m.filename!r} is a symlink that resolves outside {out}; "
                        "nothing extracted"
                    )
            for src_path, dst_path in _plan_moves(tmp, out, p):
                os.replace(src_path, dst_path)
        except _ZIP_ERRORS as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if created is not None:
                _remove_empty(created)
            raise DownloadError(f"{p}: extraction failed ({e}); nothing extracted") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if created is not None:
                _remove_empty(created)
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return [out.joinpath(*parts) for m, parts in members if not m.is_dir()]


def _remove_empty(root: Path) -> None:
    from depthduet.paths import remove_empty_folders

    remove_empty_folders(root)
