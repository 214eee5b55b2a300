#!/usr/bin/env bash
# The shipped dsr-x4/x8/x16 weights vs bicubic on real depth maps they never saw.
# LR made from the ground truth by antialiased bicubic downsampling (--lr-from bicubic).
#   held out from their training set: Middlebury 2003 cones + teddy, Sintel Df_1/20/28/58
#   never part of any training set:   Middlebury 2014 Motorcycle (float disparity, +inf holes),
#                                      Open3D Kinect depth frames (uint16 mm, ~13% holes);
#   these two also with --missing exclude (only the pixels a method predicts are scored)
# Usage: bash benchmarks/dsr_shipped_eval.sh [OUT_DIR]   (needs ../shared/data or DEPTHDUET_DATA)
set -euo pipefail
DATA=${DEPTHDUET_DATA:-../shared/data}
OUT=${1:-runs/dsr_shipped_eval}
mkdir -p "$OUT/sintel_heldout"
for f in Df_1 Df_20 Df_28 Df_58; do ln -sf "$(realpath "$DATA/sintel_depth/$f.mat")" "$OUT/sintel_heldout/$f.mat"; done
mkdir -p "$OUT/mb_heldout"
for f in cones teddy; do ln -sf "$(realpath "$DATA/middlebury_2001_2003/Depth/${f}_2.mat")" "$OUT/mb_heldout/${f}_2.mat"; done
for s in 4 8 16; do
  [ "${SKIP_RUN:-0}" = 1 ] && continue
  depthduet evaluate --protocol middlebury-dsr --gt "$OUT/mb_heldout" --gt-key img_double \
    --model dsr-x$s --baseline bicubic --scale $s --lr-from bicubic --quiet --json "$OUT/mb_x$s.json"
  depthduet evaluate --protocol sintel-dsr --gt "$OUT/sintel_heldout" --gt-key Df \
    --model dsr-x$s --baseline bicubic --scale $s --lr-from bicubic --quiet --json "$OUT/sintel_x$s.json"
  depthduet evaluate --protocol middlebury-dsr --gt "$DATA/motorcycle/motorcycle_disp.npz" \
    --model dsr-x$s --baseline bicubic --scale $s --lr-from bicubic --quiet --json "$OUT/motorcycle_x$s.json"
  depthduet evaluate --protocol sintel-dsr --gt "$DATA/rgbd_open3d/depth" --gt-scale 1000 \
    --model dsr-x$s --baseline bicubic --scale $s --lr-from bicubic --quiet --json "$OUT/open3d_x$s.json"
  # the two with holes again, scoring only the pixels each method predicts (--missing exclude):
  # an output pixel under an LR hole has no value and otherwise counts as an error of its depth
  depthduet evaluate --protocol middlebury-dsr --gt "$DATA/motorcycle/motorcycle_disp.npz" \
    --model dsr-x$s --baseline bicubic --scale $s --lr-from bicubic --quiet --missing exclude \
    --json "$OUT/motorcycle_excl_x$s.json"
  depthduet evaluate --protocol sintel-dsr --gt "$DATA/rgbd_open3d/depth" --gt-scale 1000 \
    --model dsr-x$s --baseline bicubic --scale $s --lr-from bicubic --quiet --missing exclude \
    --json "$OUT/open3d_excl_x$s.json"
done
python - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| data | scale | bicubic RMSE | shipped model RMSE | ratio | no prediction: bicubic / model |")
print("|---|---|---|---|---|---|")
for name in ("mb", "sintel", "motorcycle", "open3d", "motorcycle_excl", "open3d_excl"):
    for s in (4, 8, 16):
        rep = json.loads((out / f"{name}_x{s}.json").read_text())
        rows = {r["method"]: r for r in rep["results"]}
        bic = rows["bicubic (baseline)"]
        mod = rows[f"dsr-x{s}"]
        b, m = bic["metrics"]["rmse"], mod["metrics"]["rmse"]
        holes = [f"{100 * r['pred_invalid_fraction']:.2f}%" for r in (bic, mod)]
        print(f"| {name} | x{s} | {b:.4f} | {m:.4f} | {m / b:.3f} | {' / '.join(holes)} |")
PY
# every map none of the three models saw (Motorcycle and the nine Kinect-type maps: Open3D frames,
# NYU raw, TUM, SUN, the 8-bit NYU sample), scored on the pixels valid in GT and output
for s in 4 8 16; do
  python experiments/tools/dsr_real_heldout.py --data "$DATA" --scale $s --model dsr-x$s \
    --groups middlebury-2014 kinect --json "$OUT/unseen_all_x$s.json"
done
