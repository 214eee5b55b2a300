"""``depthduet info``: versions, compute device, threads and the sample data that is present."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

HELP = "show versions, device, threads and which sample datasets are present"
DESCRIPTION = """\
Print the versions of depthduet and its main dependencies, the compute device (CUDA / MPS /
CPU), the torch thread counts, and, for each known sample dataset folder under the data root
(../shared/data beside the checkout, or $DEPTHDUET_DATA), whether it is present.

examples:
  depthduet info
  depthduet info --json > env.json
"""

#: sample folders the project knows (relative to the data root) -> what they hold.
SAMPLE_DATASETS: dict[str, str] = {
    "middlebury_2001_2003": "Tsukuba/Venus/Cones/Teddy RGB + GT disparity (.mat v5, .bmp)",
    "middlebury_2001_depth": "Middlebury 2001 GT disparity x8 (.mat v5, depth only)",
    "sintel_depth": "MPI Sintel hole-filled depth-like maps (.mat v5, depth only)",
    "motorcycle": "Middlebury 2014 Motorcycle stereo pair + disparity (.npz, +inf invalid)",
    "nyu_sample": "one NYU v2 RGB + 8-bit normalised depth (.png)",
    "rgbd_open3d": "Kinect RGB-D sequence (mm .png) + NYU raw / TUM / SUN pairs",
    "tofmark": "ToFMark intensity + sparse ToF depth (.bmp, no GT)",
    "kitti/odometry06": "KITTI odometry 06 frames, stereo view, intrinsics, poses",
    "kitti/object_000007": "KITTI object frame: image + Velodyne .bin + calib",
    "kitti/raw_calib_2011_09_26": "KITTI raw calibration files",
}

_PACKAGES = (
    "numpy",
    "torch",
    "kornia",
    "scipy",
    "h5py",
    "pillow",
    "matplotlib",
    "omegaconf",
    "safetensors",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _device() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    info: dict[str, Any] = {
        "cuda_available": cuda,
        "cuda_version": torch.version.cuda,
        "mps_available": bool(
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        ),
    }
    if cuda:
        info["cuda_devices"] = [
            torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
        ]
    info["default"] = "cuda" if cuda else ("mps" if info["mps_available"] else "cpu")
    return info


def _count_files(folder: Path) -> int:
    return sum(1 for f in folder.rglob("*") if f.is_file() and f.name != "README.txt")


def collect() -> dict[str, Any]:
    """Everything ``info`` reports, as a JSON-ready dict."""
    import torch

    from depthduet import __version__
    from depthduet.paths import data_root, weights_dir

    root = data_root()
    pretrained = {
        f.stem: round(f.stat().st_size / 2**20, 2)
        for f in sorted(weights_dir().glob("*.safetensors"))
    }
    datasets = {}
    for name, what in SAMPLE_DATASETS.items():
        folder = root / name if root is not None else None
        present = folder is not None and folder.is_dir()
        datasets[name] = {
            "present": present,
            "files": _count_files(folder) if present and folder is not None else 0,
            "what": what,
        }
    return {
        "depthduet": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in _PACKAGES},
        "device": _device(),
        "threads": {
            "torch_intra_op": torch.get_num_threads(),
            "torch_inter_op": torch.get_num_interop_threads(),
            "cpu_count": os.cpu_count(),
        },
        "data_root": str(root) if root is not None else None,
        "data_root_from": "DEPTHDUET_DATA" if os.environ.get("DEPTHDUET_DATA") else "default",
        "data_root_exists": root is not None and root.is_dir(),
        "datasets": datasets,
        "pretrained_mib": pretrained,
    }


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = [f"depthduet {info['depthduet']} (python {info['python']}, {info['platform']})"]
    out.append(
        "packages: " + ", ".join(f"{k} {v or 'missing'}" for k, v in info["packages"].items())
    )
    dev = info["device"]
    line = f"device: {dev['default']} (cuda available: {dev['cuda_available']}"
    if dev.get("cuda_devices"):
        line += ", " + "; ".join(dev["cuda_devices"])
    out.append(line + ")")
    th = info["threads"]
    out.append(
        f"threads: torch {th['torch_intra_op']} intra-op / {th['torch_inter_op']} inter-op, "
        f"{th['cpu_count']} CPUs"
    )
    root = info["data_root"]
    if root is None:
        out.append("data root: not found (put samples in ../shared/data or set DEPTHDUET_DATA)")
    else:
        missing = "" if info["data_root_exists"] else ", does not exist"
        out.append(f"data root: {root} (from {info['data_root_from']}{missing})")
    width = max(len(k) for k in info["datasets"])
    for name, d in info["datasets"].items():
        state = f"present ({d['files']} files)" if d["present"] else "missing"
        out.append(f"  {name:<{width}}  {state:<20} {d['what']}")
    shipped = info["pretrained_mib"]
    out.append(
        "pretrained weights: "
        + (", ".join(f"{k} ({v} MiB)" for k, v in shipped.items()) if shipped else "none")
    )
    print("\n".join(out))
    return 0
