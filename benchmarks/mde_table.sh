#!/usr/bin/env bash
# METHOD B (semi-supervised monocular depth, mutual distillation) results table of
# docs/results/mde.md, end to end: every mode and ablation at one equal training budget on the
# procedural driving world, then the table and the per-region breakdown.
#
#   TRAIN=1 bash benchmarks/mde_table.sh     # train every row, then summarise
#   bash benchmarks/mde_table.sh             # summarise the existing runs in $RUNS only
#
# Budget (every row): 64 training scenes at 64x160, batch 4, 20 epochs x 16 steps = 320 Adam
# steps, lr 1e-4, no ImageNet weights, engine.threads=1 (bitwise reproducible on CPU), seed 0;
# validation on 16 `val` scenes every 5 epochs; the table reads the last validation (step 320).
# SEEDS="0 1 2" adds seed-1 and seed-2 runs of the configs in SEED_CONFIGS (suffix _seed<k>).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/exp_mde}
CFG=src/depthduet/configs/mde
COMMON="data.train_size=64 data.val_size=16 data.world.height=64 data.world.width=160 \
engine.epochs=20 engine.val_every=5 engine.threads=1 engine.progress=false \
engine.tensorboard=false engine.log_every=16"
CONFIGS=${CONFIGS:-"world_sup world_self_m world_self_ms world_semi world_semi_nodistill world_semi_nopf world_semi_sharedaug"}
SEED_CONFIGS=${SEED_CONFIGS:-"world_sup world_self_ms world_semi"}
SEEDS=${SEEDS:-0}
mkdir -p "$RUNS"

if [[ "${TRAIN:-0}" == 1 ]]; then
  for seed in $SEEDS; do
    if [[ $seed == 0 ]]; then names=$CONFIGS; suffix=""; else names=$SEED_CONFIGS; suffix="_seed$seed"; fi
    for name in $names; do
      depthduet train --config $CFG/$name.yaml $COMMON engine.seed=$seed \
        --out "$RUNS/$name$suffix" > "$RUNS/$name$suffix.log" 2>&1
    done
  done
fi

# validation split (chose the loss weights): last line of each run's val.csv
python benchmarks/mde_table_summary.py "$RUNS"
# held-out test split (32 scenes never used for training, validation or tuning): the tables
python benchmarks/mde_world_test.py --n 32 --json "$RUNS/world_test.json" "$RUNS"/world_*/
# where the errors are (val split, seed-0 runs)
python benchmarks/mde_regions.py "$RUNS"/world_sup "$RUNS"/world_self_ms "$RUNS"/world_semi \
  "$RUNS"/world_semi_nopf "$RUNS"/world_semi_sharedaug
