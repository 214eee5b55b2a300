#!/usr/bin/env bash
# docs/results/dsr.md, table "Per seed, full method against DSRNet alone": x4, the relative
# difference of the full method (today's defaults) from DSRNet alone on each of seeds 0-4 after
# 1280 and 5120 steps (world test RMSE / MAE, the six real scenes, all 77 real maps); the lines
# per seed of the pairings (the runs of experiments/dsr_full_vs_alone.sh).
#
#   TRAIN=1 bash experiments/dsr_full_vs_alone_per_seed.sh   # train the missing runs first
#   bash experiments/dsr_full_vs_alone_per_seed.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 20 runs, about 8.4 hours of training (the full method 1140 / 4400 s at
# 1280 / 5120 steps, DSRNet alone 100 / 390 s); scoring about 30 minutes. Nothing is trained
# or scored again after experiments/dsr_full_vs_alone.sh.
. "$(dirname "$0")/_lib.sh"
dsr_setup
# shellcheck disable=SC2207  # run names have no spaces
B=($(names "x4_wo_ct_1280{_seed}" 0 1 2 3 4) $(names "x4_lam_S0.03_1280{_seed}" 0 1 2 3 4))
C=($(names "x4_wo_ct_5120{_seed}" 0 1 2 3 4) $(names "x4_lam_S0.03_5120{_seed}" 0 1 2 3 4))
dsr_train "${B[@]}" "${C[@]}"
dsr_score 4 "${B[@]}" "${C[@]}"
dsr_real_all 4 1280 "${B[@]}"
dsr_real_all 4 5120 "${C[@]}"
echo "== 1280 steps: world test split and the six real scenes, then all 77 real maps"
dsr_pairs 4 "0 1 2 3 4" "wo_ct_1280{_seed}" "lam_S0.03_1280{_seed}"
dsr_real_pair real_all_x4_1280.json "0 1 2 3 4" "wo_ct_1280{_seed}" "lam_S0.03_1280{_seed}"
echo "== 5120 steps"
dsr_pairs 4 "0 1 2 3 4" "wo_ct_5120{_seed}" "lam_S0.03_5120{_seed}"
dsr_real_pair real_all_x4_5120.json "0 1 2 3 4" "wo_ct_5120{_seed}" "lam_S0.03_5120{_seed}"
