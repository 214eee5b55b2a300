"""Procedural-world datasets on disk: the writer behind ``depthduet synth`` and its reader.

Layout (one folder per sample, ``F`` frames, target frame ``F // 2``)::

    OUT/
      synth.yaml                  the resolved settings (kind, seeds, WorldConfig)
      driving-000042/
        frame_{k}.png             RGB, 8 bits
        depth_{k}.npy             float32 metres, 0 = no depth (sky)
        lidar_{k}.npy             float32 metres, 0 = no return        (if LiDAR is on)
        right_{k}.png             stereo right view of frame k          (if stereo is on)
        sensor_{k}.npy            depth-sensor capture, 0 = hole        (if sensor effects)
        tof_{k}.npy               ToF-like low-resolution capture       (if tof_scale > 1)
        camera.json               K (3x3 pixels), baseline (m), poses (camera-to-world 4x4 per
                                  frame, OpenCV axes x right, y down, z forward), frames, target,
                                  kind, seed, size [H, W], unit "m"

:class:`SynthFolderDataset` reads it back as the sample dictionaries of ``docs/DEVELOPING.md``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import Dataset

from depthduet.config import load_yaml, save_config, to_dict
from depthduet.data.world.config import WorldConfig, check_kind
from depthduet.data.world.dataset import relative_pose
from depthduet.data.world.render import render_sequence
from depthduet.errors import UserError

__all__ = [
    "SynthFolderDataset",
    "preview_panel",
    "read_camera",
    "write_sample",
    "write_synth_dataset",
]

CAMERA_FILE = "camera.json"
SETTINGS_FILE = "synth.yaml"


def _save_npy(path: Path, a: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(a, dtype=np.float32))


def _save_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)


def write_sample(folder: str | os.PathLike[str], kind: str, seed: int, cfg: WorldConfig) -> Path:
    """Render sequence ``(kind, seed)`` and write it to ``folder`` (created atomically).

    The files go to a temporary sibling folder that is renamed at the end, so an interrupted
    run never leaves a half-written sample. Returns the folder.
    """
    folder = Path(folder)
    r = render_sequence(kind, seed, cfg)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    F = len(r["images"])
    for k in range(F):
        _save_png(tmp / f"frame_{k}.png", r["images"][k])
        _save_npy(tmp / f"depth_{k}.npy", r["depths"][k])
        if "sensor" in r:
            _save_npy(tmp / f"sensor_{k}.npy", r["sensor"][k])
        if "tof" in r:
            _save_npy(tmp / f"tof_{k}.npy", r["tof"][k])
    for j, k in enumerate(r["right_frames"]):
        _save_png(tmp / f"right_{int(k)}.png", r["right"][j])
    for j, k in enumerate(r["lidar_frames"]):
        _save_npy(tmp / f"lidar_{int(k)}.npy", r["lidar"][j])
    c = r["cfg"]
    cam = {
        "K": r["K"].tolist(),
        "baseline": r["baseline"],
        "poses": r["poses"].tolist(),
        "frames": F,
        "target": r["target"],
        "kind": kind,
        "seed": int(seed),
        "size": [c.height, c.width],
        "unit": "m",
        "lidar_height": c.lidar_height,
        "tof_scale": c.tof_scale,
    }
    with open(tmp / CAMERA_FILE, "w", encoding="utf-8") as f:
        json.dump(cam, f, indent=1)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def _write_one(job: tuple[str, str, int, WorldConfig]) -> str:
    folder, kind, seed, cfg = job
    return str(write_sample(folder, kind, seed, cfg))


def sample_complete(folder: str | os.PathLike[str]) -> bool:
    """Whether a sample folder holds its ``camera.json`` and the colour and depth file of every
    frame it lists (a folder whose files were deleted or damaged by hand is rendered again)."""
    folder = Path(folder)
    try:
        with open(folder / CAMERA_FILE, encoding="utf-8") as f:
            frames = int(json.load(f)["frames"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(
        (folder / f"frame_{k}.png").is_file() and (folder / f"depth_{k}.npy").is_file()
        for k in range(frames)
    )


def write_synth_dataset(
    out: str | os.PathLike[str],
    kind: str,
    n: int,
    seed: int = 0,
    cfg: WorldConfig | None = None,
    *,
    overwrite: bool = False,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write ``n`` sequences of seeds ``seed .. seed + n - 1`` under ``out``.

    Sample folders that already hold a ``camera.json`` are kept (so an interrupted run can be
    resumed) unless ``overwrite``; the settings are saved as ``out/synth.yaml`` and a later run
    into the same folder with other settings is refused. ``workers > 0`` renders in that many processes.

    Returns:
        ``{"written": int, "skipped": int, "folders": [str, ...]}``.

    Raises:
        UserError: bad ``kind`` / ``n`` / ``seed`` or ``out`` is a file.
    """
    check_kind(kind)
    if n < 1:
        raise UserError(f"--n {n}: need at least one sample")
    if seed < 0:
        raise UserError(f"--seed {seed}: must be >= 0")
    cfg = (cfg or WorldConfig()).resolved(kind)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    settings = {**to_dict(cfg), "kind": kind}
    saved = out / SETTINGS_FILE
    if saved.is_file() and not overwrite:
        old = load_yaml(saved)
        old = {k: v for k, v in old.items() if k not in ("n", "seed")}
        if old != yaml.safe_load(yaml.safe_dump(settings)):
            raise UserError(
                f"{saved}: these samples were rendered with other settings; "
                "use another output folder or --overwrite"
            )
    save_config(settings, saved, extra={"n": n, "seed": seed})
    folders = [out / f"{kind}-{seed + i:06d}" for i in range(n)]
    jobs = [
        (str(f), kind, seed + i, cfg)
        for i, f in enumerate(folders)
        if overwrite or not sample_complete(f)
    ]
    done = 0
    if workers > 0 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_one, jobs):
                done += 1
                if progress:
                    progress(done, len(jobs))
    else:
        for job in jobs:
            _write_one(job)
            done += 1
            if progress:
                progress(done, len(jobs))
    return {"written": len(jobs), "skipped": n - len(jobs), "folders": [str(f) for f in folders]}


def preview_panel(r: dict, frame: int | None = None) -> np.ndarray:
    """A picture of one rendered frame: colour, depth, LiDAR over the colour, right view.

    Args:
        r: :func:`~depthduet.data.world.render_sequence` output.
        frame: frame index (default: the target frame).

    Returns:
        ``(H', W', 3)`` uint8 panel made with :mod:`depthduet.viz` (depth: turbo colour map of
        log depth, near = blue, no depth black; LiDAR points coloured on the same scale).
    """
    from depthduet.viz import colorize_depth, make_panel, overlay_points, robust_range

    k = r["target"] if frame is None else int(frame)
    rgb, depth = r["images"][k], r["depths"][k]
    valid = depth > 0
    logd = np.log(np.where(valid, depth, 1.0))  # log depth: near and far both readable
    lo, hi = robust_range(logd, valid, 1, 99)
    items: list[tuple[str, np.ndarray]] = [
        ("colour", rgb),
        ("depth (log scale)", colorize_depth(logd, valid, vmin=lo, vmax=hi)),
    ]
    if k in list(r["lidar_frames"]):
        lid = r["lidar"][list(r["lidar_frames"]).index(k)]
        v, u = np.nonzero(lid > 0)
        uv = np.stack([u, v], 1)
        pts = overlay_points(rgb, uv, np.log(lid[v, u]), radius=0, vmin=lo, vmax=hi, dim=0.5)
        items.append(("LiDAR", pts))
    if k in list(r["right_frames"]):
        items.append(("right view", r["right"][list(r["right_frames"]).index(k)]))
    h, w = depth.shape
    ncols = 2 if w > 1.5 * h else len(items)
    return make_panel(items, ncols=ncols)


def read_camera(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``folder/camera.json``; ``K`` ``(3, 3)`` and ``poses`` ``(F, 4, 4)`` as numpy.

    Raises:
        UserError: missing file, bad JSON or a key with the wrong shape (named in the message).
    """
    path = Path(folder) / CAMERA_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (not a depthduet synth sample folder)")
    try:
        with open(path, encoding="utf-8") as f:
            cam = json.load(f)
    except (OSError, ValueError) as e:  # ValueError: bad JSON or not UTF-8 text
        raise UserError(f"{path}: cannot read camera file: {e}") from None
    if not isinstance(cam, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(cam).__name__}")
    for key in ("K", "poses"):
        if key not in cam:
            raise UserError(f"{path}: missing key {key!r}")
    try:
        K = np.asarray(cam["K"], np.float64)
        poses = np.asarray(cam["poses"], np.float64)
        baseline = float(cam.get("baseline", 0.0))
    except (TypeError, ValueError, OverflowError) as e:
        raise UserError(f"{path}: non-numeric camera data: {e}") from None
    if K.shape != (3, 3):
        raise UserError(f"{path}: key 'K' must be 3x3, got shape {K.shape}")
    if poses.ndim != 3 or poses.shape[1:] != (4, 4) or len(poses) < 1:
        raise UserError(f"{path}: key 'poses' must be a list of 4x4 matrices, got {poses.shape}")
    if not (np.isfinite(K).all() and np.isfinite(poses).all()):
        raise UserError(f"{path}: K or poses contain NaN / inf")
    cam["K"], cam["poses"], cam["baseline"] = K, poses, baseline
    cam.setdefault("frames", len(poses))
    cam.setdefault("target", len(poses) // 2)
    if not all(type(cam[k]) is int for k in ("frames", "target")):
        raise UserError(f"{path}: 'frames' and 'target' must be integers")
    if cam["frames"] != len(poses) or not 0 <= cam["target"] < len(poses):
        raise UserError(f"{path}: 'frames'/'target' disagree with {len(poses)} poses")
    return cam


def _img(path: Path, hw: tuple[int, int] | None) -> torch.Tensor:
    from depthduet.io import read_image

    a = read_image(path, grey=False)
    if hw is not None and a.shape[:2] != hw:
        raise UserError(f"{path}: image is {a.shape[0]}x{a.shape[1]}, expected {hw[0]}x{hw[1]}")
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def _npy(path: Path, hw: tuple[int, int] | None) -> np.ndarray:
    if not path.is_file():
        raise UserError(f"{path}: not found")
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read .npy: {e}") from None
    if a.ndim != 2 or (hw is not None and a.shape != hw):
        want = f"{hw[0]}x{hw[1]}" if hw else "2-D"
        raise UserError(f"{path}: depth map has shape {a.shape}, expected {want}")
    a = a.astype(np.float32)
    a[~np.isfinite(a) | (a < 0)] = 0.0
    return a


class SynthFolderDataset(Dataset):
    """Samples written by ``depthduet synth`` (see the module docstring for the layout).

    Args:
        root: the output folder of ``depthduet synth`` (sample folders inside), or one sample
            folder.
        every_frame: if ``False`` each sequence gives one sample (its target frame); if ``True``
            every frame that has both temporal neighbours (every frame when the sequences
            have one frame) is a sample.

    Samples follow ``docs/DEVELOPING.md``: ``image``, ``depth``, ``valid``, ``K``, ``name``,
    ``unit = "m"``; ``image_prev``/``image_next`` and ``T_prev_tgt``/``T_next_tgt`` when the
    neighbours exist; ``image_stereo`` and ``T_stereo_tgt`` when ``right_{k}.png`` exists;
    ``lidar`` when ``lidar_{k}.npy`` exists; ``depth_sensor`` / ``depth_tof`` likewise.
    """

    def __init__(self, root: str | os.PathLike[str], every_frame: bool = False) -> None:
        root = Path(root)
        if not root.is_dir():
            raise UserError(f"{root}: synth folder not found")
        if (root / CAMERA_FILE).is_file():
            folders = [root]
        else:
            folders = sorted(p for p in root.iterdir() if (p / CAMERA_FILE).is_file())
        if not folders:
            raise UserError(f"{root}: no sample folders with {CAMERA_FILE} inside")
        self.root = root
        self.items: list[tuple[Path, int]] = []
        for f in folders:
            cam = read_camera(f)
            F = cam["frames"]
            if not every_frame:
                ks = [cam["target"]]
            elif F >= 3:
                ks = list(range(1, F - 1))
            else:
                ks = list(range(F))
            self.items += [(f, k) for k in ks]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        folder, k = self.items[index]
        cam = read_camera(folder)
        poses = cam["poses"]
        img = _img(folder / f"frame_{k}.png", None)
        hw = (img.shape[1], img.shape[2])
        depth = _npy(folder / f"depth_{k}.npy", hw)
        s: dict[str, Any] = {
            "image": img,
            "depth": torch.from_numpy(depth)[None],
            "valid": torch.from_numpy(depth > 0)[None],
            "K": torch.from_numpy(cam["K"].astype(np.float32)),
            "name": f"{folder.name}/{k}",
            "unit": "m",
        }
        if 0 < k < len(poses) - 1:
            s["image_prev"] = _img(folder / f"frame_{k - 1}.png", hw)
            s["image_next"] = _img(folder / f"frame_{k + 1}.png", hw)
            s["T_prev_tgt"] = torch.from_numpy(
                relative_pose(poses[k - 1], poses[k]).astype(np.float32)
            )
            s["T_next_tgt"] = torch.from_numpy(
                relative_pose(poses[k + 1], poses[k]).astype(np.float32)
            )
        right = folder / f"right_{k}.png"
        if right.is_file():
            s["image_stereo"] = _img(right, hw)
            T = np.eye(4, dtype=np.float32)
            T[0, 3] = -cam["baseline"]
            s["T_stereo_tgt"] = torch.from_numpy(T)
        for key, stem in (("lidar", "lidar"), ("depth_sensor", "sensor")):
            p = folder / f"{stem}_{k}.npy"
            if p.is_file():
                s[key] = torch.from_numpy(_npy(p, hw))[None]
        tof = folder / f"tof_{k}.npy"
        if tof.is_file():
            s["depth_tof"] = torch.from_numpy(_npy(tof, None))[None]
        return s
