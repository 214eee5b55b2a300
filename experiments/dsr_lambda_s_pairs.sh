#!/usr/bin/env bash
# docs/results/dsr.md, table "lambda_S 0.03 against 0.1, paired by seed": x4, today's defaults
# with loss.lambda_S=0.03 against 0.1, seeds 0-2, after 320, 1280 and 5120 steps: world test
# split, the six real held-out scenes and (1280, 5120 steps) all 77 real maps.
#
#   TRAIN=1 bash experiments/dsr_lambda_s_pairs.sh   # train the missing runs, then the table
#   bash experiments/dsr_lambda_s_pairs.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 18 runs, about 9.7 hours of training (280 / 1140 / 4400 s per run at 320 /
# 1280 / 5120 steps); scoring about 25 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
# shellcheck disable=SC2207  # run names have no spaces
A=($(names "x4_lam_default{_seed}_320" 0 1 2) $(names "x4_lam_S0.03{_seed}_320" 0 1 2))
# shellcheck disable=SC2207
B=($(names "x4_lam_default_1280{_seed}" 0 1 2) $(names "x4_lam_S0.03_1280{_seed}" 0 1 2))
# shellcheck disable=SC2207
C=($(names "x4_lam_default_5120{_seed}" 0 1 2) $(names "x4_lam_S0.03_5120{_seed}" 0 1 2))
dsr_train "${A[@]}" "${B[@]}" "${C[@]}"
dsr_score 4 "${A[@]}" "${B[@]}" "${C[@]}"
dsr_real_all 4 1280 "${B[@]}"
dsr_real_all 4 5120 "${C[@]}"
echo "== 320 steps"
dsr_pairs 4 "0 1 2" "lam_default{_seed}_320" "lam_S0.03{_seed}_320"
echo "== 1280 steps"
dsr_pairs 4 "0 1 2" "lam_default_1280{_seed}" "lam_S0.03_1280{_seed}"
dsr_real_pair real_all_x4_1280.json "0 1 2" "lam_default_1280{_seed}" "lam_S0.03_1280{_seed}"
echo "== 5120 steps"
dsr_pairs 4 "0 1 2" "lam_default_5120{_seed}" "lam_S0.03_5120{_seed}"
dsr_real_pair real_all_x4_5120.json "0 1 2" "lam_default_5120{_seed}" "lam_S0.03_5120{_seed}"
