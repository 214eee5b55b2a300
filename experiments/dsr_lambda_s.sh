#!/usr/bin/env bash
# docs/results/dsr.md, table "Structure weight lambda_S": x4, 320 steps, seed 0, today's defaults
# with loss.lambda_S = 0.03 (the default), 0.1, 0.3, 1, 3, and 0.1 / 1 with
# distill.spnet_error_grad=false, against DSRNet alone: world test split and the six real scenes.
#
#   TRAIN=1 bash experiments/dsr_lambda_s.sh   # train the missing runs, then the table
#   bash experiments/dsr_lambda_s.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 8 runs, about 35 minutes of training (the full method about 280 s, DSRNet
# alone 45 s); scoring about 8 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
F=(wo_ct_320 lam_S0.03_320 lam_default_320 lam_S0.3_320 lam_S1_320 lam_S3_320 lam_Sdet0.1_320
  lam_Sdet1_320)
# shellcheck disable=SC2207  # run names have no spaces
T=($(family_runs 4 "${F[@]}"))
dsr_train "${T[@]}"
dsr_score 4 "${T[@]}"
dsr_families 4 "${F[@]}"
