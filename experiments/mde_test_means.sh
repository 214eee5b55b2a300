#!/usr/bin/env bash
# docs/results/mde.md, table "Held-out test split", means over seeds 0, 1, 2: supervised only,
# self-supervised from stereo + video (MS) and the full method (both branches) on the 32 scenes
# of the driving world's test split, last checkpoints.
#
#   TRAIN=1 bash experiments/mde_test_means.sh   # train the missing runs, then the table
#   bash experiments/mde_test_means.sh           # the table of the runs in $RUNS (runs/exp_mde)
#
# Time, from the wall times on docs/results/mde.md (two or three runs at a time on a 2-core
# CPU): 9 runs, about 50 minutes of training (world_sup 2-3.5, world_self_ms 5.5-6, world_semi
# 8-11 minutes each);
# scoring about a minute (rendering the 32 test scenes, then a few seconds per run).
. "$(dirname "$0")/_lib.sh"
mde_setup
T=(world_sup world_sup_seed1 world_sup_seed2 world_self_ms world_self_ms_seed1
  world_self_ms_seed2 world_semi world_semi_seed1 world_semi_seed2)
mde_train "$RUNS" "${T[@]}"
# shellcheck disable=SC2046  # run folders have no spaces
python $TOOLS/mde_world_test.py --n 32 --means $(in_dir "$RUNS" "${T[@]}")
