#!/usr/bin/env bash
# Train and export the shipped blind dsr-x2/x4/x8/x16 (the commands recorded in their cards,
# src/depthduet/weights/dsr-x*.json), then score them on the robustness matrix:
#   bash benchmarks/dsr_ship.sh [RUNS_DIR]
# DSRNet alone, configs/dsr/blind_x*.yaml: LR made by a new draw of the degradation mix for every
# training sample (docs/degradations.md), procedural indoor world + the real maps of
# ../shared/data with the held-out scenes excluded, MSE loss, last checkpoint (no model
# selection on held-out scenes). x4/x8/x16 start from the earlier antialiased-bicubic weights
# (taken from git, revision 39f1d66), x2 from scratch. All four run side by side, one thread
# each; the cards record each model's training time (about 30-65 minutes of one thread of a
# 2-core AMD EPYC CPU shared by the four runs).
set -euo pipefail
RUNS=${1:-runs/ship}
OLD=39f1d66
C="engine.threads=1 engine.progress=false engine.tensorboard=false engine.save_every=5 engine.seed=0"
NOTES="Blind DSRNet (tiny preset): trained on LR made every way (antialiased and plain bicubic,\
 bilinear, area, centre-grid point samples, Gaussian blur; Gaussian, depth-proportional and\
 disparity-quantised noise, 8/16-bit storage; random, blob and edge holes, flying pixels),\
 on the procedural indoor world and the real maps of ../shared/data (held-out scenes Sintel\
 Df_1/20/28/58 and Middlebury cones/teddy never trained on); MSE loss; last checkpoint.\
 Point samples need their grid stated: --lr-grid point for hr[s//2::s], corner for hr[::s]."
mkdir -p "$RUNS/init"
for s in 4 8 16; do
  git show "$OLD:src/depthduet/weights/dsr-x$s.safetensors" > "$RUNS/init/dsr-x$s-bicubic-aa.safetensors"
done
train() {  # SCALE STEPS EXTRA...
  local s=$1 steps=$2; shift 2
  local cmd="depthduet train --config configs/dsr/blind_x$s.yaml $C engine.max_steps=$steps $*"
  cmd="$cmd --out $RUNS/x$s"
  local start; start=$(date +%s)
  $cmd > "$RUNS/x$s.log" 2>&1
  python -m depthduet.apps.ship export "$RUNS/x$s/checkpoints/last" "dsr-x$s" \
    --command "$cmd" --seconds $(( $(date +%s) - start )) --notes "$NOTES" > "$RUNS/x$s.card.json"
}
INIT="optim.lr=5e-4 model.init=$RUNS/init/dsr-x"
train 4 12000 "${INIT}4-bicubic-aa.safetensors" &
train 8 6000 "${INIT}8-bicubic-aa.safetensors" &
train 16 2400 "${INIT}16-bicubic-aa.safetensors" &
train 2 5775 &
wait
python benchmarks/dsr_robustness.py --model dsr-x2 --model dsr-x4 --model dsr-x8 \
  --model dsr-x16 --json "$RUNS/robustness.json" --md "$RUNS/robustness.md" --card --check
