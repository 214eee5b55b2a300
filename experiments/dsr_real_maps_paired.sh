#!/usr/bin/env bash
# docs/results/dsr.md, table "All 77 real maps" paired by seed: the full method against DSRNet
# alone per group (geometric-mean ratio minus one, seeds on which the full method is better, t
# over seeds) at x4 after 320 steps (seeds 0-2), 1280 and 5120 steps (seeds 0-4), and with
# lambda_S=0.1 at x8 and x16 after 320 steps (seeds 0-2).
#
#   TRAIN=1 bash experiments/dsr_real_maps_paired.sh   # train the missing runs, then the table
#   bash experiments/dsr_real_maps_paired.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 38 runs, about 9.6 hours of training (as experiments/dsr_real_maps.sh, with
# seeds 3 and 4 at 1280 and 5120 steps); scoring about 30 s per run, 20 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
# shellcheck disable=SC2207  # run names have no spaces
A=($(names "x4_wo_ct_320{_seed}" 0 1 2) $(names "x4_lam_S0.03{_seed}_320" 0 1 2))
# shellcheck disable=SC2207
B=($(names "x4_wo_ct_1280{_seed}" 0 1 2 3 4) $(names "x4_lam_S0.03_1280{_seed}" 0 1 2 3 4))
# shellcheck disable=SC2207
C=($(names "x4_wo_ct_5120{_seed}" 0 1 2 3 4) $(names "x4_lam_S0.03_5120{_seed}" 0 1 2 3 4))
# shellcheck disable=SC2207
X8=($(names "x8_wo_ct_320{_seed}" 0 1 2) $(names "x8_lam_default_320{_seed}" 0 1 2))
# shellcheck disable=SC2207
X16=($(names "x16_wo_ct_320{_seed}" 0 1 2) $(names "x16_lam_default_320{_seed}" 0 1 2))
dsr_train "${A[@]}" "${B[@]}" "${C[@]}" "${X8[@]}" "${X16[@]}"
dsr_real_all 4 320 "${A[@]}"
dsr_real_all 4 1280 "${B[@]}"
dsr_real_all 4 5120 "${C[@]}"
dsr_real_all 8 320 "${X8[@]}"
dsr_real_all 16 320 "${X16[@]}"
dsr_real_pair real_all_x4_320.json "0 1 2" "wo_ct_320{_seed}" "lam_S0.03{_seed}_320"
dsr_real_pair real_all_x4_1280.json "0 1 2 3 4" "wo_ct_1280{_seed}" "lam_S0.03_1280{_seed}"
dsr_real_pair real_all_x4_5120.json "0 1 2 3 4" "wo_ct_5120{_seed}" "lam_S0.03_5120{_seed}"
for s in 8 16; do
  dsr_real_pair "real_all_x${s}_320.json" "0 1 2" "wo_ct_320{_seed}" "lam_default_320{_seed}"
done
