#!/usr/bin/env bash
# docs/results/dsr.md, table "Side-output supervision and the affinity distance": x4, seeds 0-2
# unless a row says seed 0, with loss.lambda_S=0.1: DSRNet alone, plain and residual side outputs
# supervised into DSRNet, side heads only with the row affinity (l1_row) and with A.3's (l1),
# and no side outputs, after 320 and 1280 steps; world test split and the six real scenes.
#
#   TRAIN=1 bash experiments/dsr_side_outputs.sh   # train the missing runs, then the table
#   bash experiments/dsr_side_outputs.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 29 runs, about 4.1 hours of training (the full method about 280 s at 320
# steps and 1140 s at 1280, DSRNet alone 45 / 100 s); scoring about 30 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
F320=("wo_ct_320{_seed}@0,1,2" full_320 full_side_residual_320 "full_sr_side0.1_320{_seed}@0,1,2"
  "full_headsup_320{_seed}@0,1,2" "lam_default{_seed}_320@0,1,2" "aff_sp_320{_seed}@0,1,2")
F1280=("wo_ct_1280{_seed}@0,1,2" "full_1280{_seed}@0,1,2" "full_headsup_1280{_seed}@0,1,2"
  "lam_default_1280{_seed}@0,1,2")
# shellcheck disable=SC2207  # run names have no spaces
T=($(family_runs 4 "${F320[@]}" "${F1280[@]}"))
dsr_train "${T[@]}"
dsr_score 4 "${T[@]}"
dsr_families 4 "${F320[@]}" "${F1280[@]}"
