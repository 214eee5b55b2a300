#!/usr/bin/env bash
# Train and export the shipped dsr-x4/x8/x16 weights (the commands recorded in their cards,
# src/depthduet/weights/dsr-x*.json), then score them: bash benchmarks/dsr_ship.sh [RUNS_DIR]
# DSRNet alone on the real depth maps of ../shared/data (configs/dsr/real_x4.yaml; held-out
# scenes excluded), last checkpoint, StepLR x0.5 twice per run. About 28 + 19 + 17 minutes on
# a 2-core CPU (x4 and x8 side by side with one thread each, then x16 with two threads).
set -euo pipefail
RUNS=${1:-runs/ship}
C="engine.progress=false engine.tensorboard=false optim.lr=1e-3 distill.output_space=false"
C="$C distill.affinity=false distill.spnet=false engine.seed=0 engine.epochs=5000 engine.val_every=20"
NOTES="DSRNet alone (w/o CT: at every budget measured it matched or beat the full method,\
 docs/results_dsr.md), tiny preset, trained on the real depth maps of ../shared/data (54 Sintel\
 + 6 Middlebury 2001 depth maps + tsukuba/venus), held-out scenes Sintel Df_1/20/28/58 and\
 Middlebury cones/teddy never trained on; last checkpoint (no model selection on the held-out\
 scenes); StepLR x0.5 every optim.step_size epochs."
train() {  # SCALE CROP BATCH STEPS STEP_SIZE THREADS
  local cmd="depthduet train --config configs/dsr/real_x4.yaml engine.threads=$6 $C optim.step_size=$5"
  cmd="$cmd data.scale=$1 data.crop=$2 engine.batch_size=$3 engine.max_steps=$4 --out $RUNS/x$1"
  local start; start=$(date +%s)
  $cmd > "$RUNS/x$1.log" 2>&1
  python -m depthduet.inference.pretrained export "$RUNS/x$1/checkpoints/last" "dsr-x$1" \
    --command "$cmd" --seconds $(( $(date +%s) - start )) --notes "$NOTES" > "$RUNS/x$1.card.json"
}
mkdir -p "$RUNS"
train 4 96 8 8000 400 1 & x4=$!
train 8 128 8 4000 200 1
wait $x4
train 16 256 4 2400 55 2
bash benchmarks/dsr_shipped_eval.sh "$RUNS/eval"
