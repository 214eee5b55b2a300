#!/usr/bin/env bash
# docs/results/dsr.md, table "Weights that only reach DENet": x4, 320 steps, seed 0, today's
# defaults with loss.lambda_S=0.1 and one of lambda_P, lambda_A, lambda_ssim changed, against
# DSRNet alone: world test split, the six real scenes, and DENet's validation RMSE (normalised,
# tools/dsr_rounds.py); then the text below it: seeds 1 and 2 of the defaults and of
# lambda_ssim=0, paired with DSRNet alone.
#
#   TRAIN=1 bash experiments/dsr_denet_weights.sh   # train the missing runs, then the table
#   bash experiments/dsr_denet_weights.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 13 runs, about 50 minutes of training (the full method about 280 s, DSRNet
# alone 45 s); scoring about 13 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
F=(lam_default_320 lam_A0_320 lam_A1000_320 lam_P0_320 lam_P1_320 lam_ssim0_320 wo_ct_320)
S=("lam_default{_seed}_320@0,1,2" "lam_ssim0{_seed}_320@0,1,2" "wo_ct_320{_seed}@0,1,2")
# shellcheck disable=SC2207  # run names have no spaces
T=($(family_runs 4 "${F[@]}" "${S[@]}"))
dsr_train "${T[@]}"
dsr_score 4 "${T[@]}"
dsr_families 4 "${F[@]}"
# shellcheck disable=SC2046  # run names have no spaces
dsr_rounds $(family_runs 4 "${F[@]}")
echo "== seeds 0-2"
dsr_families 4 "${S[@]}"
dsr_pairs 4 "0 1 2" "wo_ct_320{_seed}" "lam_default{_seed}_320"
dsr_pairs 4 "0 1 2" "wo_ct_320{_seed}" "lam_ssim0{_seed}_320"
