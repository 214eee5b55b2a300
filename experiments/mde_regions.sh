#!/usr/bin/env bash
# docs/results/mde.md, table "Where the errors are": AbsRel / RMSE per image region (rows with
# LiDAR returns, the rows above them) and per depth range, validation split, seed-0 runs of
# supervised only, self-supervised MS, the full method, and its point-filtering and
# augmentation ablations (experiments/tools/mde_regions.py).
#
#   TRAIN=1 bash experiments/mde_regions.sh   # train the missing runs, then the table
#   bash experiments/mde_regions.sh           # the table of the runs in $RUNS (runs/exp_mde)
#
# Time, from the wall times on docs/results/mde.md (two or three runs at a time on a 2-core
# CPU): 5 runs, about 40 minutes of training; scoring under a minute.
. "$(dirname "$0")/_lib.sh"
mde_setup
T=(world_sup world_self_ms world_semi world_semi_nopf world_semi_sharedaug)
mde_train "$RUNS" "${T[@]}"
# shellcheck disable=SC2046  # run folders have no spaces
python $TOOLS/mde_regions.py $(in_dir "$RUNS" "${T[@]}")
