#!/usr/bin/env bash
# docs/results/dsr.md, table "Full method against DSRNet alone (today's defaults)": x4, DSRNet
# alone against the full method with today's defaults, paired by seed, after 320 steps (seeds
# 0-2), 1280 and 5120 steps (seeds 0-4): world test split, the six real held-out scenes and all
# 77 real maps; then who taught in each round of the full-method runs (rounds.csv).
#
#   TRAIN=1 bash experiments/dsr_full_vs_alone.sh   # train the missing runs, then the table
#   bash experiments/dsr_full_vs_alone.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 26 runs, about 8.6 hours of training (the full method 280 / 1140 / 4400 s
# at 320 / 1280 / 5120 steps, DSRNet alone 45 / 100 / 390 s); scoring about 40 minutes.
# The "CPU B" row is the 320-step part on a second machine.
. "$(dirname "$0")/_lib.sh"
dsr_setup
# shellcheck disable=SC2207  # run names have no spaces
A=($(names "x4_wo_ct_320{_seed}" 0 1 2) $(names "x4_lam_S0.03{_seed}_320" 0 1 2))
B=($(names "x4_wo_ct_1280{_seed}" 0 1 2 3 4) $(names "x4_lam_S0.03_1280{_seed}" 0 1 2 3 4))
C=($(names "x4_wo_ct_5120{_seed}" 0 1 2 3 4) $(names "x4_lam_S0.03_5120{_seed}" 0 1 2 3 4))
dsr_train "${A[@]}" "${B[@]}" "${C[@]}"
dsr_score 4 "${A[@]}" "${B[@]}" "${C[@]}"
dsr_real_all 4 320 "${A[@]}"
dsr_real_all 4 1280 "${B[@]}"
dsr_real_all 4 5120 "${C[@]}"
echo "== bicubic and the means of each family: world test split and the six real scenes"
dsr_families 4 "wo_ct_320{_seed}@0,1,2" "lam_S0.03{_seed}_320@0,1,2" \
  "wo_ct_1280{_seed}@0,1,2,3,4" "lam_S0.03_1280{_seed}@0,1,2,3,4" \
  "wo_ct_5120{_seed}@0,1,2,3,4" "lam_S0.03_5120{_seed}@0,1,2,3,4"
echo "== 320 steps, seeds 0-2"
dsr_pairs 4 "0 1 2" "wo_ct_320{_seed}" "lam_S0.03{_seed}_320"
dsr_real_pair real_all_x4_320.json "0 1 2" "wo_ct_320{_seed}" "lam_S0.03{_seed}_320"
echo "== 1280 steps, seeds 0-4"
dsr_pairs 4 "0 1 2 3 4" "wo_ct_1280{_seed}" "lam_S0.03_1280{_seed}"
dsr_real_pair real_all_x4_1280.json "0 1 2 3 4" "wo_ct_1280{_seed}" "lam_S0.03_1280{_seed}"
echo "== 5120 steps, seeds 0-4"
dsr_pairs 4 "0 1 2 3 4" "wo_ct_5120{_seed}" "lam_S0.03_5120{_seed}"
dsr_real_pair real_all_x4_5120.json "0 1 2 3 4" "wo_ct_5120{_seed}" "lam_S0.03_5120{_seed}"
echo "== who taught: the full-method runs"
# shellcheck disable=SC2046
dsr_rounds $(names "x4_lam_S0.03{_seed}_320" 0 1 2) $(names "x4_lam_S0.03_1280{_seed}" 0 1 2 3 4) \
  $(names "x4_lam_S0.03_5120{_seed}" 0 1 2 3 4)
