#!/usr/bin/env bash
# docs/results/mde.md, table "Held-out test split", every run: the seven training modes and
# ablations (seed 0) and seeds 1, 2 of world_sup, world_self_ms and world_semi, both branches,
# on the 32 scenes of the driving world's test split, last checkpoints.
#
#   TRAIN=1 bash experiments/mde_test_runs.sh   # train the missing runs, then the table
#   bash experiments/mde_test_runs.sh           # the table of the runs in $RUNS (runs/exp_mde)
#
# Time, from the wall times on docs/results/mde.md (two or three runs at a time on a 2-core
# CPU): 13 runs, about 1.5 hours of training (2-13 minutes each);
# scoring about a minute (rendering the 32 test scenes, then a few seconds per run).
. "$(dirname "$0")/_lib.sh"
mde_setup
T=("${WORLD_RUNS[@]}")
mde_train "$RUNS" "${T[@]}"
# shellcheck disable=SC2046  # run folders have no spaces
python $TOOLS/mde_world_test.py --n 32 --json "$RUNS/world_test.json" $(in_dir "$RUNS" "${T[@]}")
