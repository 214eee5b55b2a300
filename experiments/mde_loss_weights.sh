#!/usr/bin/env bash
# docs/results/mde.md, table "Loss weights chosen on the val split": the runs that chose
# lambda_sd, M and lambda_pf (in $TUNE, default runs/mde_tune; each run's overrides are in
# mde_run_args of experiments/_lib.sh) and today's defaults and the run without point filtering
# (in $RUNS), validation split, last line of val.csv; then the same runs per image region (the
# numbers of the list below the table).
#
#   TRAIN=1 bash experiments/mde_loss_weights.sh   # train the missing runs, then the table
#   bash experiments/mde_loss_weights.sh           # the table of the runs present
#
# Time, estimated from the wall times on docs/results/mde.md (two or three runs at a time on a
# 2-core CPU): 16 runs, about 2 hours of training (supervised only about 3 minutes, the full
# method 8-13 minutes each); scoring under a minute.
. "$(dirname "$0")/_lib.sh"
mde_setup
TUNED=(world_sup_pf1 world_sup_m10 world_sup_lr3e-4 world_sup_lr1e-3 world_semi_sd0.1
  world_semi_m10_warm80 world_semi_m10_warm80_ud1 world_semi_oneway world_semi_ud0.3
  world_semi_pf1 world_semi_pf1_seed1 world_semi_pf1_seed2)
DEFAULTS=(world_semi_nopf world_semi world_semi_seed1 world_semi_seed2)
mde_train "$TUNE" "${TUNED[@]}"
mde_train "$RUNS" "${DEFAULTS[@]}"
# shellcheck disable=SC2046  # run folders have no spaces
python $TOOLS/mde_table_summary.py $(in_dir "$TUNE" "${TUNED[@]}") $(in_dir "$RUNS" "${DEFAULTS[@]}")
# shellcheck disable=SC2046
python $TOOLS/mde_regions.py $(in_dir "$TUNE" "${TUNED[@]}")
