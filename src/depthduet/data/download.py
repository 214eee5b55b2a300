"""Download helpers: known public sources, resumable HTTP downloads, checksum verification.

:func:`download_file` fetches one URL into ``<dest>.part`` and renames it to ``dest`` when it
is complete. An interrupted download is resumed with an HTTP ``Range: bytes=N-`` request (a
server answering ``206 Partial Content`` continues the file; one answering ``200`` sends it
whole and the part file is restarted). The result is checked against the expected size and
SHA-256 when they are known; a mismatch deletes the file and raises :class:`DownloadError`.

:data:`SOURCES` lists the datasets depthduet reads, with their URLs, licence notes and the
loader that reads the downloaded layout. Sources behind a registration or licence acceptance
(KITTI, Cityscapes, ToFMark) have no URLs here: :func:`fetch` raises
:class:`RegistrationRequired` whose message holds the instructions. Sizes and checksums are
given only where they were verified; for the others the SHA-256 of what was downloaded is
reported so that users can pin it.

Nothing here runs on import; tests use a local HTTP server (127.0.0.1) through ``mirror``.
"""

from __future__ import annotations

import hashlib
import os
import re
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
    "RemoteFile",
    "Source",
    "SOURCES",
    "get_source",
    "sha256_file",
    "download_file",
    "fetch",
    "extract_zip",
]

PathLike = str | os.PathLike[str]
#: progress callback ``(bytes done, bytes total or None)``.
Progress = Callable[[int, int | None], None]


class DownloadError(UserError):
    """A download failed (network error, HTTP error, size or checksum mismatch)."""


class RegistrationRequired(UserError):
    """The source needs a registration / licence acceptance; the message says what to do."""


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
_MD2 = "https://raw.githubusercontent.com/nianticlabs/monodepth2/master/splits/"

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
                    "http://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat",
                    "nyu_depth_v2_labeled.mat",
                ),
                RemoteFile(
                    "http://horatio.cs.nyu.edu/mit/silberman/indoor_seg_sup/splits.mat",
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
            "http://sintel.is.tue.mpg.de/depth",
            "MPI Sintel (Butler et al., ECCV 2012): research use, see the site's terms",
            "depthduet.data.sintel.SintelDataset",
            (
                RemoteFile(
                    "http://files.is.tue.mpg.de/jwulff/sintel/MPI-Sintel-depth-training-20150305.zip",
                    "MPI-Sintel-depth-training-20150305.zip",
                ),
            ),
            instructions="Unzip into the same root as sintel_complete (training/depth, training/camdata_left).",
        ),
        Source(
            "sintel_complete",
            "MPI Sintel complete (clean/final frames, flow) about 5.3 GB",
            "http://sintel.is.tue.mpg.de/downloads",
            "MPI Sintel (Butler et al., ECCV 2012): research use, see the site's terms",
            "depthduet.data.sintel.SintelDataset",
            (
                RemoteFile(
                    "http://files.is.tue.mpg.de/sintel/MPI-Sintel-complete.zip",
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
                RemoteFile(_MD2 + "eigen/test_files.txt", "eigen/test_files.txt"),
                RemoteFile(_MD2 + "eigen_zhou/train_files.txt", "eigen_zhou/train_files.txt"),
                RemoteFile(_MD2 + "eigen_zhou/val_files.txt", "eigen_zhou/val_files.txt"),
                RemoteFile(
                    _MD2 + "eigen_benchmark/test_files.txt", "eigen_benchmark/test_files.txt"
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


def _check(path: Path, size: int | None, sha256: str | None, url: str) -> None:
    if size is not None and path.stat().st_size != size:
        got = path.stat().st_size
        path.unlink()
        raise DownloadError(f"{url}: size {got} bytes, expected {size}; deleted {path.name}")
    if sha256 is not None:
        got = sha256_file(path)
        if got != sha256.lower():
            path.unlink()
            raise DownloadError(
                f"{url}: sha256 {got} != expected {sha256.lower()}; deleted {path.name}"
            )


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

    An existing ``dest`` that passes the size / SHA-256 checks is kept without a request.
    Otherwise the data go to ``dest + ".part"``; with ``resume`` an existing part file is
    continued with an HTTP Range request. When complete the file is checked and renamed to
    ``dest``.

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
        DownloadError: HTTP / network error, unexpected response, size or checksum mismatch.
    """
    if sha256 is not None:
        sha256 = sha256.strip()
        if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise DownloadError(
                f"{url}: expected sha256 {sha256!r} is not a SHA-256 digest (64 hex "
                "characters); nothing downloaded"
            )
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http(s) URLs are supported")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        try:
            _check(dest, size, sha256, url)
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
                    os.replace(part, dest)
                    _check(dest, size, sha256, url)
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
            done = start
            with open(part, mode) as f:
                while block := resp.read(chunk_size):
                    f.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"{url}: download failed ({reason}); run again to resume") from None
    if total is not None and done < total:
        raise DownloadError(
            f"{url}: connection closed at {done} of {total} bytes; run again to resume"
        )
    os.replace(part, dest)
    _check(dest, size, sha256, url)
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


def extract_zip(path: PathLike, out_dir: PathLike) -> list[Path]:
    """Unpack a ``.zip`` archive into ``out_dir``; members escaping it (``..``, absolute
    paths) raise ``DownloadError``. Returns the extracted file paths."""
    p = Path(path)
    out = Path(out_dir).resolve()
    try:
        with zipfile.ZipFile(p) as z:
            names = [m for m in z.infolist() if not m.is_dir()]
            for m in names:
                target = (out / m.filename).resolve()
                if out != target and out not in target.parents:
                    raise DownloadError(
                        f"{p}: member {m.filename!r} would be written outside {out}"
                    )
            z.extractall(out)
    except zipfile.BadZipFile:
        raise DownloadError(f"{p}: not a valid zip archive") from None
    return [out / m.filename for m in names]
