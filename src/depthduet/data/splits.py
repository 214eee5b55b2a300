"""Split files: which samples of a dataset form its train / val / test sets.

Formats read here:

* plain lists (:func:`read_split`): one sample name per line; blank lines and ``#`` comments
  are ignored;
* KITTI lists in the monodepth / monodepth2 format (:func:`read_kitti_split`), one frame per
  line: ``<date>/<drive folder> <frame number> <side>``, e.g.
  ``2011_09_26/2011_09_26_drive_0002_sync 0000000069 l`` (side ``l`` = image_02, ``r`` =
  image_03; a missing side means ``l``);
* index lists (:func:`read_index_split`), one integer per line (NYU v2 style, 1-based);
* the official NYU v2 ``splits.mat`` (:func:`read_nyu_splits_mat`): ``trainNdxs`` (795) and
  ``testNdxs`` (654, the "Eigen" test set), 1-based indices into the 1449 labelled images.

Where the official lists come from (they are not shipped with depthduet):

* KITTI Eigen (697 test frames) and Eigen-Zhou (train/val) lists: the ``splits/eigen`` and
  ``splits/eigen_zhou`` folders of the monodepth2 repository (github.com/nianticlabs/monodepth2,
  licence: non-commercial); the Eigen-benchmark list (652 frames with annotated depth) in
  ``splits/eigen_benchmark``.
* NYU v2 train/test: ``splits.mat`` from the NYU Depth v2 web page
  (cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html, "Train/Test split").
* NYU v2 depth super-resolution (1000 train / 449 test): the first 1000 / last 449 labelled
  images in file order, as in the DJF / DKN / FDSR papers; :func:`nyu_dsr_split` builds it.

``depthduet/data/splits/*.txt`` holds small example files only (:func:`shipped_split`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from depthduet.errors import UserError
from depthduet.paths import PathLike

__all__ = [
    "read_split",
    "KittiSplitEntry",
    "read_kitti_split",
    "write_kitti_split",
    "read_index_split",
    "read_nyu_splits_mat",
    "nyu_dsr_split",
    "NYU_LABELLED_COUNT",
    "shipped_split",
]


#: images in the NYU v2 labelled set (``nyu_depth_v2_labeled.mat``).
NYU_LABELLED_COUNT = 1449


def _lines(path: PathLike) -> list[tuple[int, str]]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: split file not found")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: cannot read split file: {e}") from None
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((i, line))
    if not out:
        raise UserError(f"{p}: split file is empty")
    return out


def read_split(path: PathLike) -> list[str]:
    """Sample names, one per line (blank lines and ``#`` comments skipped)."""
    return [line for _, line in _lines(path)]


class KittiSplitEntry(NamedTuple):
    """One line of a KITTI split file.

    Attributes:
        folder: drive folder relative to the raw root, ``2011_09_26/2011_09_26_drive_0002_sync``.
        frame: frame number (``69`` for ``0000000069``).
        side: ``"l"`` (image_02) or ``"r"`` (image_03).
    """

    folder: str
    frame: int
    side: str

    @property
    def date(self) -> str:
        """The calibration date folder, ``2011_09_26``."""
        return self.folder.split("/")[0]

    @property
    def name(self) -> str:
        """A readable id: ``2011_09_26_drive_0002_sync/0000000069_l``."""
        return f"{self.folder.split('/')[-1]}/{self.frame:010d}_{self.side}"


def read_kitti_split(path: PathLike) -> list[KittiSplitEntry]:
    """Read a monodepth-format KITTI split file (see the module docstring).

    Raises ``UserError`` naming the file and line for a malformed line.
    """
    entries = []
    for lineno, line in _lines(path):
        parts = line.split()
        if len(parts) not in (2, 3):
            raise UserError(
                f"{path}:{lineno}: expected '<date>/<drive> <frame> [l|r]', got {line!r}"
            )
        folder = parts[0].strip("/")
        try:
            frame = int(parts[1])
        except ValueError:
            raise UserError(
                f"{path}:{lineno}: frame number {parts[1]!r} is not an integer"
            ) from None
        side = parts[2] if len(parts) == 3 else "l"
        if side not in ("l", "r"):
            raise UserError(f"{path}:{lineno}: side must be 'l' or 'r', got {side!r}")
        if frame < 0:
            raise UserError(f"{path}:{lineno}: negative frame number {frame}")
        entries.append(KittiSplitEntry(folder, frame, side))
    return entries


def write_kitti_split(path: PathLike, entries: list[KittiSplitEntry]) -> Path:
    """Write entries in the monodepth format (frame numbers zero-padded to 10 digits),
    atomically."""
    from depthduet.io import atomic_write

    text = "".join(f"{e.folder} {e.frame:010d} {e.side}\n" for e in entries).encode()
    return atomic_write(path, lambda f: f.write(text))


def read_index_split(path: PathLike, base: int = 1) -> list[int]:
    """Integer indices, one per line, converted to 0-based (``base=1`` for MATLAB-style lists)."""
    out = []
    for lineno, line in _lines(path):
        try:
            out.append(int(line) - base)
        except ValueError:
            raise UserError(f"{path}:{lineno}: expected an integer index, got {line!r}") from None
        if out[-1] < 0:
            raise UserError(f"{path}:{lineno}: index {line} is below the base {base}")
    return out


def read_nyu_splits_mat(path: PathLike) -> dict[str, list[int]]:
    """The official NYU v2 ``splits.mat``: ``{"train": [...795], "test": [...654]}``, 0-based
    indices into the labelled set (the file stores 1-based ``trainNdxs`` / ``testNdxs``)."""
    from depthduet.io import read_mat

    out = {}
    for split, key in (("train", "trainNdxs"), ("test", "testNdxs")):
        idx = np.asarray(read_mat(path, key=key)).reshape(-1)
        if idx.size == 0 or idx.min() < 1 or idx.max() > NYU_LABELLED_COUNT:
            raise UserError(f"{path}: {key} must hold 1-based indices in 1..{NYU_LABELLED_COUNT}")
        out[split] = [int(i) - 1 for i in idx]
    return out


def nyu_dsr_split(split: str, n_train: int = 1000) -> list[int]:
    """The NYU v2 depth super-resolution split: the first ``n_train`` (1000) labelled images for
    training, the remaining 449 for testing. Returns 0-based indices."""
    if split == "train":
        return list(range(n_train))
    if split == "test":
        return list(range(n_train, NYU_LABELLED_COUNT))
    raise UserError(f"unknown NYU DSR split {split!r}; use 'train' or 'test'")


def shipped_split(name: str) -> Path:
    """Path of a split file shipped in ``depthduet/data/splits`` (``"kitti_example"``)."""
    folder = Path(str(resources.files("depthduet.data") / "splits"))
    p = folder / (name if name.endswith(".txt") else f"{name}.txt")
    if not p.is_file():
        known = sorted(q.stem for q in folder.glob("*.txt"))
        raise UserError(f"no shipped split {name!r}; known: {', '.join(known) or '(none)'}")
    return p
