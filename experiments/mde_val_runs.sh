#!/usr/bin/env bash
# docs/results/mde.md, table "Validation split": the last line of each run's val.csv (16 val
# scenes, step 320) and its wall time, for the runs of the test-split table.
#
#   TRAIN=1 bash experiments/mde_val_runs.sh   # train the missing runs, then the table
#   bash experiments/mde_val_runs.sh           # the table of the runs in $RUNS (runs/exp_mde)
#
# Time, from the wall times in the table (two or three runs at a time on a 2-core CPU): 13 runs,
# about 1.5 hours of training (2-13 minutes each); the table itself takes seconds.
. "$(dirname "$0")/_lib.sh"
mde_setup
T=("${WORLD_RUNS[@]}")
mde_train "$RUNS" "${T[@]}"
# shellcheck disable=SC2046  # run folders have no spaces
python $TOOLS/mde_table_summary.py $(in_dir "$RUNS" "${T[@]}")
