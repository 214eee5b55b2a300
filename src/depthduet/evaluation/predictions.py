"""Sets of depth maps on disk (predictions of any method, ground truth, LR inputs) and matching.

A *map set* is one of

* a **folder** of per-image files (any suffix :func:`depthduet.io.read_depth` reads; other
  files are ignored), named by file stem (with ``recursive=True``: by the relative path
  without suffix, ``2011_09_26_drive_0002/0000000005``);
* a **stack** file: ``.npy`` ``(N, H, W)``, ``.npz`` holding one ``(N, H, W)`` array (or the
  array ``key``), or ``.mat`` ``(H, W, N)`` (MATLAB's layout); its maps are unnamed, in order.
  With ``allow_pickle`` also a 1-D object array of 2-D maps of any sizes (monodepth2's
  ``gt_depths.npz`` under key ``data``);
* a folder written by ``depthduet predict`` (it holds ``predict.yaml``): its
  ``STEM_depth.npy`` maps in metres, named ``STEM`` (the input image's name);
* an ``.npz`` of several 2-D arrays: one map per array, named by the array names;
* a **single** 2-D file (any format): one unnamed map.

Two sets are matched (:func:`match_sets`) by name when both are named (folders, multi-array
``.npz``), otherwise by position, in natural order of the named side (``2 < 10``). Every
ground-truth map must have exactly one prediction and vice versa; otherwise a
:class:`~depthduet.errors.UserError` names the first missing or extra file.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthduet.errors import UserError
from depthduet.io import (
    DEPTH_SUFFIXES,
    DepthMap,
    check_numpy_magic,
    make_depth_map,
    read_depth,
    read_mat,
)
from depthduet.io.naming import natural_key as _natural_key
from depthduet.paths import PREDICT_DEPTH_SUFFIX, PREDICT_RECORD, PathLike

__all__ = ["MapSet", "open_set", "match_sets", "natural_key"]


def natural_key(s: str) -> list[object]:
    """Sort key that orders digit runs by value: ``"img2" < "img10"`` (the whole name, case
    folded; :func:`depthduet.io.naming.natural_key`)."""
    return _natural_key(s, whole=True)


@dataclass
class MapSet:
    """An ordered, lazily read set of depth maps.

    Attributes:
        path: the folder or file.
        kind: ``"folder"``, ``"stack"``, ``"arrays"`` (multi-array ``.npz``) or ``"single"``.
        names: map ids, in order.
        sources: for messages: the file of each map, or ``file[i]`` / ``file:key``.
        named: whether ``names`` are meaningful for matching.
    """

    path: Path
    kind: str
    names: list[str]
    sources: list[str]
    named: bool
    _reader: Callable[[int], DepthMap]

    def __len__(self) -> int:
        return len(self.names)

    def read(self, i: int) -> DepthMap:
        """Map ``i`` as ``DepthMap(values (H, W) float32, valid (H, W) bool)``."""
        return self._reader(i)


def _stack_reader(arr: np.ndarray, axis: int, scale: float | None, sources: list[str]):
    def read(i: int) -> DepthMap:
        return make_depth_map(np.take(arr, i, axis=axis), scale, path=sources[i])

    return read


def _stack(path: Path, arr: np.ndarray, axis: int, scale: float | None) -> MapSet:
    n = arr.shape[axis]
    if n == 0:
        raise UserError(f"{path}: the stack holds no maps (shape {tuple(arr.shape)})")
    sources = [f"{path}[{i}]" for i in range(n)]
    return MapSet(
        path,
        "stack",
        [f"{i:06d}" for i in range(n)],
        sources,
        False,
        _stack_reader(arr, axis, scale, sources),
    )


def _single(path: Path, scale: float | None, key: str | None) -> MapSet:
    def read(i: int) -> DepthMap:
        return read_depth(path, scale=scale, key=key)

    return MapSet(path, "single", [path.stem], [str(path)], False, read)


#: what numpy raises for unreadable, corrupt or wrongly pickled files.
_LOAD_ERRORS = (ValueError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)


def _load_error(path: Path, e: Exception) -> UserError:
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "allow_pickle" in msg:
        return UserError(
            f"{path}: holds Python objects (e.g. monodepth2's gt_depths.npz, one array per image); "
            "pass --allow-pickle if you trust this file (unpickling can run code)"
        )
    return UserError(f"{path}: not a readable {path.suffix} file: {msg}")


def _object_stack(path: Path, arr: np.ndarray) -> np.ndarray:
    """Validate a 1-D object array of 2-D maps (maps may differ in size)."""
    if arr.ndim != 1:
        raise UserError(f"{path}: object array of shape {arr.shape}; expected one map per entry")
    for i, a in enumerate(arr):
        if np.ndim(a) != 2:
            raise UserError(f"{path}[{i}]: expected a 2-D map, got shape {np.shape(a)}")
    return arr


def _array_file(
    path: Path, scale: float | None, key: str | None, allow_pickle: bool = False
) -> MapSet:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        check_numpy_magic(path)
        try:
            arr = np.load(path, mmap_mode=None if allow_pickle else "r", allow_pickle=allow_pickle)
        except _LOAD_ERRORS as e:
            raise _load_error(path, e) from e
        if arr.dtype == object:
            return _stack(path, _object_stack(path, arr), 0, scale)
        if arr.ndim == 3:
            return _stack(path, arr, 0, scale)
        return _single(path, scale, key)
    if suffix == ".mat":
        arr = read_mat(path, key)
        if arr.ndim == 3:
            return _stack(path, arr, -1, scale)
        return _single(path, scale, key)
    # .npz
    check_numpy_magic(path)
    try:
        z = np.load(path, allow_pickle=allow_pickle)
        with z:
            arrays = {k: z[k] for k in z.files}
    except _LOAD_ERRORS as e:
        raise _load_error(path, e) from e
    if key is not None:
        if key not in arrays:
            raise UserError(f"{path}: no array {key!r} (available: {', '.join(sorted(arrays))})")
        arrays = {key: arrays[key]}
    if len(arrays) == 1:
        (arr,) = arrays.values()
        if arr.dtype == object:
            return _stack(path, _object_stack(path, arr), 0, scale)
        if arr.ndim == 3:
            return _stack(path, arr, 0, scale)
        return _single(path, scale, key)
    if not arrays:
        raise UserError(f"{path}: the .npz archive is empty")
    bad = [k for k, a in arrays.items() if a.ndim != 2]
    if bad:
        raise UserError(
            f"{path}: array {bad[0]!r} has shape {arrays[bad[0]].shape}; an .npz of several "
            "arrays needs one 2-D map per array (or name a 3-D stack with key)"
        )
    names = sorted(arrays, key=natural_key)
    sources = [f"{path}:{k}" for k in names]

    def read(i: int) -> DepthMap:
        return make_depth_map(arrays[names[i]], scale, path=sources[i])

    return MapSet(path, "arrays", names, sources, True, read)


def _predict_folder(p: Path, scale: float | None) -> MapSet:
    """A ``depthduet predict`` output folder: its ``STEM_depth.npy`` maps (metres), named
    ``STEM`` so that they match ground truth named like the input images; the colour pictures,
    16-bit PNG copies and confidence maps beside them are not predictions."""
    suffix = PREDICT_DEPTH_SUFFIX
    by_name = {
        f.name[: -len(suffix)]: f for f in p.iterdir() if f.is_file() and f.name.endswith(suffix)
    }
    if not by_name:
        raise UserError(
            f"{p}: a depthduet predict folder ({PREDICT_RECORD}) without any *{suffix} map"
        )
    names = sorted(by_name, key=natural_key)
    paths = [by_name[n] for n in names]

    def read(i: int) -> DepthMap:
        return read_depth(paths[i], scale=scale)

    return MapSet(p, "folder", names, [str(f) for f in paths], True, read)


def open_set(
    path: PathLike,
    *,
    scale: float | None = None,
    key: str | None = None,
    recursive: bool = False,
    what: str = "maps",
    allow_pickle: bool = False,
) -> MapSet:
    """Open a folder / stack / single file of depth maps (see the module docstring).

    Args:
        path: folder or file.
        scale: stored units per output unit, as in :func:`depthduet.io.read_depth`.
        key: array name inside ``.npz`` / ``.mat`` files.
        recursive: search sub-folders; names become relative paths without suffix.
        what: word used in messages (``"prediction"``, ``"ground truth"``).
        allow_pickle: accept ``.npy`` / ``.npz`` object arrays (one map per entry, sizes may
            differ, as monodepth2's ``gt_depths.npz``). Unpickling can run code: trusted files
            only.

    Returns:
        A :class:`MapSet`.

    Raises:
        UserError: missing path, empty folder, two files with the same name, unreadable stack.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: {what} path does not exist")
    if p.is_file():
        if p.suffix.lower() in (".npy", ".npz", ".mat"):
            return _array_file(p, scale, key, allow_pickle)
        if p.suffix.lower() not in DEPTH_SUFFIXES:
            known = " ".join(DEPTH_SUFFIXES)
            raise UserError(f"{p}: unsupported {what} format (supported: {known})")
        return _single(p, scale, key)
    if (p / PREDICT_RECORD).is_file() and not recursive:
        return _predict_folder(p, scale)
    it = p.rglob("*") if recursive else p.iterdir()
    files = [
        f
        for f in it
        if f.is_file()
        and f.suffix.lower() in DEPTH_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(p).parts)
    ]
    if not files:
        raise UserError(
            f"{p}: no {what} files ({' '.join(DEPTH_SUFFIXES)}) in this folder"
            + ("" if recursive else " (sub-folders are not searched; use --recursive)")
        )
    by_name: dict[str, Path] = {}
    for f in files:
        name = f.relative_to(p).with_suffix("").as_posix()
        if name in by_name:
            raise UserError(f"{f}: two {what} files named {name!r} (also {by_name[name].name})")
        by_name[name] = f
    names = sorted(by_name, key=natural_key)
    paths = [by_name[n] for n in names]

    def read(i: int) -> DepthMap:
        return read_depth(paths[i], scale=scale, key=key)

    return MapSet(p, "folder", names, [str(f) for f in paths], True, read)


def match_sets(gt: MapSet, other: MapSet, what: str = "prediction") -> list[tuple[int, int, str]]:
    """Pair every ground-truth map with one map of ``other``.

    Args:
        gt: the ground-truth set.
        other: predictions (or LR inputs, images...).
        what: word for messages.

    Returns:
        ``[(gt_index, other_index, name)]`` in ground-truth order; ``name`` is the named side's
        id (the ground truth's when both are named).

    Raises:
        UserError: a ground-truth map without a match, an extra map, or different counts; the
            message names the file.
    """
    if gt.named and other.named:
        index = {n: i for i, n in enumerate(other.names)}
        pairs = []
        for gi, name in enumerate(gt.names):
            if name not in index:
                raise UserError(
                    f"{gt.sources[gi]}: no {what} named {name!r} in {other.path} "
                    f"({len(other)} {what} maps, {len(gt)} ground-truth maps)"
                )
            pairs.append((gi, index.pop(name), name))
        if index:
            extra = min(index.values())
            raise UserError(
                f"{other.sources[extra]}: {what} {other.names[extra]!r} has no ground truth "
                f"in {gt.path}"
            )
        return pairs
    if len(gt) != len(other):
        raise UserError(
            f"{other.path}: holds {len(other)} {what} maps but {gt.path} holds {len(gt)} "
            "ground-truth maps (matched by position)"
        )
    names = other.names if (other.named and not gt.named) else gt.names
    return [(i, i, names[i]) for i in range(len(gt))]
