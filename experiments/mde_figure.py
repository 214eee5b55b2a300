"""Qualitative METHOD B figure on real KITTI frames: docs/images/mde_kitti.png.

Runs a shipped (or trained) monocular-depth branch on two real KITTI images from the sample
data and lays out, with :mod:`depthduet.viz`:

* row 1: KITTI odometry 06 frame 12 (``kitti/odometry06/kitti06-12-color.png``): RGB, predicted
  depth, predicted confidence;
* row 2: KITTI object frame 000007 (``kitti/object_000007/image_2_000007.png``): the same;
* row 3: frame 000007's Velodyne points projected with :mod:`depthduet.data.kitti` (calibration
  ``calib_000007.txt``, camera-frame z depth) on the dimmed RGB, the same points drawn over the
  predicted depth map (one colour scale for both), and the per-point relative error
  ``|d_pred - d_lidar| / d_lidar`` (0 = black/blue .. 0.5 = red).

The depth network was trained on the procedural driving world only, so the figure is
qualitative (a synthetic-to-real transfer check). The AbsRel against the projected LiDAR of
this one frame is printed (raw, and with per-image median scaling for reference).

Usage (from the repository root; no training, about 25 s on a 2-core CPU shared with two
training runs)::

    python experiments/mde_figure.py                       # shipped mde-driving
    python experiments/mde_figure.py --checkpoint runs/mde_world_semi --branch u -o out.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from depthduet import io as dio
from depthduet import viz
from depthduet.data.kitti import project_velodyne, read_object_calib
from depthduet.errors import UserError
from depthduet.inference.mde import DepthPredictor
from depthduet.paths import data_root

ODOMETRY = Path("kitti/odometry06/kitti06-12-color.png")
OBJECT = Path("kitti/object_000007")


def _half(a: np.ndarray, width: int) -> np.ndarray:
    """Resize an ``(H, W, 3)`` uint8 tile to ``width`` (aspect kept, Lanczos)."""
    h = round(a.shape[0] * width / a.shape[1])
    return np.asarray(Image.fromarray(a).resize((width, h), Image.Resampling.LANCZOS))


def _abs_rel(pred: np.ndarray, gt: np.ndarray, median: bool) -> float:
    """AbsRel ``mean(|s*pred - gt| / gt)`` with ``s = median(gt)/median(pred)`` when asked."""
    s = float(np.median(gt) / np.median(pred)) if median else 1.0
    return float(np.mean(np.abs(s * pred - gt) / gt))


def make_figure(
    predictor: DepthPredictor, root: Path, tile_width: int = 400
) -> tuple[np.ndarray, dict[str, float]]:
    """Build the panel.

    Args:
        predictor: the depth branch to show.
        root: the sample-data folder (``../shared/data``).
        tile_width: width in pixels of each tile (KITTI frames are downscaled to it).

    Returns:
        ``(panel (H, W, 3) uint8, numbers)`` with ``numbers`` holding ``points`` (LiDAR points
        in the image and in the depth range used), ``abs_rel`` and ``abs_rel_median`` on
        frame 000007.
    """
    rgb_o = dio.read_image(root / ODOMETRY, grey=False)
    rgb_k = dio.read_image(root / OBJECT / "image_2_000007.png", grey=False)
    d_o, c_o = predictor.predict(rgb_o)
    d_k, c_k = predictor.predict(rgb_k)
    h, w = d_k.shape
    calib = read_object_calib(root / OBJECT / "calib_000007.txt")
    pts = dio.read_velodyne(root / OBJECT / "velodyne_000007.bin")
    lidar = project_velodyne(pts, calib.velo_to_image(2), h, w, min_depth=0.1)
    keep = (lidar.depth > 1e-3) & (lidar.depth <= 80.0)  # the usual KITTI evaluation cap
    uv, z = lidar.uv[keep], lidar.depth[keep]
    pred_at = d_k[lidar.v[keep], lidar.u[keep]]
    numbers = {
        "points": int(keep.sum()),
        "abs_rel": _abs_rel(pred_at, z, False),
        "abs_rel_median": _abs_rel(pred_at, z, True),
    }
    vmin, vmax = viz.robust_range(z)  # one depth colour scale for LiDAR and predictions
    s = tile_width / w  # the LiDAR overlays are drawn on downscaled tiles
    rel_err = np.abs(pred_at - z) / z

    def depth_tile(d: np.ndarray) -> np.ndarray:
        return _half(viz.colorize_depth(d, vmin=vmin, vmax=vmax, invert=True), tile_width)

    def conf_tile(c: np.ndarray) -> np.ndarray:
        return _half(viz.colorize_depth(c, cmap="viridis", vmin=0.0, vmax=1.0), tile_width)

    kw = {"radius": 0, "vmin": vmin, "vmax": vmax, "invert": True}
    items = [
        ("odometry 06 / 12: RGB", _half(viz.to_uint8_rgb(rgb_o), tile_width)),
        (f"predicted depth ({vmin:.0f}-{vmax:.0f} m, near = red)", depth_tile(d_o)),
        ("confidence (0 .. 1)", conf_tile(c_o)),
        ("object 000007: RGB", _half(viz.to_uint8_rgb(rgb_k), tile_width)),
        (f"predicted depth ({vmin:.0f}-{vmax:.0f} m, near = red)", depth_tile(d_k)),
        ("confidence (0 .. 1)", conf_tile(c_k)),
        (
            f"Velodyne ({numbers['points']} pts, {vmin:.0f}-{vmax:.0f} m)",
            viz.overlay_points(
                _half(viz.to_uint8_rgb(rgb_k), tile_width), uv * s, z, dim=0.5, **kw
            ),
        ),
        ("Velodyne over prediction", viz.overlay_points(depth_tile(d_k), uv * s, z, **kw)),
        (
            f"|pred-lidar|/lidar (0..0.5), AbsRel {numbers['abs_rel']:.2f}",
            viz.overlay_points(
                _half(viz.to_uint8_rgb(rgb_k), tile_width),
                uv * s,
                np.minimum(rel_err, 0.5),
                radius=0,
                dim=0.3,
                vmin=0.0,
                vmax=0.5,
                cmap="jet",
            ),
        ),
    ]
    return viz.make_panel(items, ncols=3, title_size=13), numbers


def save_png(path: str | Path, panel: np.ndarray, colors: int = 256) -> Path:
    """Write ``panel`` ``(H, W, 3)`` uint8 as PNG, palette-quantised to ``colors`` (1..256,
    median cut, Floyd-Steinberg dithering) unless ``colors`` is 0."""
    if not 0 <= colors <= 256:
        raise UserError(f"--colors: expected 0..256, got {colors}")
    if colors == 0:
        return dio.write_image(path, panel)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(panel).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    tmp = out.with_name(f".{out.name}.tmp")
    img.save(tmp, format="PNG", optimize=True)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--model", default="mde-driving", help="shipped weights name")
    src.add_argument("--checkpoint", help="a mutual run / checkpoint instead of shipped weights")
    ap.add_argument("--branch", choices=("u", "s"), default=None)
    ap.add_argument("--data", default=None, help="sample data folder (default ../shared/data)")
    ap.add_argument("--tile-width", type=int, default=460)
    ap.add_argument(
        "--colors",
        type=int,
        default=256,
        help="PNG palette size (0 = full RGB; 256 keeps it small)",
    )
    ap.add_argument("-o", "--output", default="docs/images/mde_kitti.png")
    args = ap.parse_args(argv)
    try:
        root = Path(args.data) if args.data else data_root()
        if root is None or not (root / OBJECT).is_dir():
            raise UserError(f"{root}: KITTI sample data not found (pass --data)")
        if args.checkpoint:
            predictor = DepthPredictor.from_checkpoint(args.checkpoint, args.branch)
        else:
            predictor = DepthPredictor.from_pretrained(args.model, args.branch)
        panel, numbers = make_figure(predictor, root, args.tile_width)
        out = save_png(args.output, panel, args.colors)
    except UserError as e:
        print(f"mde_figure: {e}", file=sys.stderr)
        return 2
    print(
        f"{out}: {panel.shape[1]}x{panel.shape[0]}, {out.stat().st_size / 1024:.0f} KB; "
        f"frame 000007 vs {numbers['points']} LiDAR points (<= 80 m): "
        f"AbsRel {numbers['abs_rel']:.3f} raw, {numbers['abs_rel_median']:.3f} median-scaled "
        f"(branch {predictor.branch}, {predictor.info.get('source', '')})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
