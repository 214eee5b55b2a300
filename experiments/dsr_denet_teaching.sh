#!/usr/bin/env bash
# docs/results/dsr.md, table "DENet teaching through the affinity term alone" (Negative
# findings): x4, 320 steps, DENet fixed as the teacher without output-space terms (A.3's l1 on
# seeds 0-2; l1_row and DENet in metres on seed 0) against DSRNet alone and the full method with
# today's defaults, paired by seed; world test split and the six real scenes. Then the variants
# of the list above the table: DENet as a fixed teacher with every term, the improvement rule
# (seeds 0, 1), DENet in metres (distill.de_target=data) at x4 and x16, and who taught in each
# round of those runs (rounds.csv).
#
#   TRAIN=1 bash experiments/dsr_denet_teaching.sh   # train the missing runs, then the table
#   bash experiments/dsr_denet_teaching.sh           # the table of the runs in $RUNS
#
# Time, from the training times on docs/results/dsr.md (one thread of a 2-core AMD EPYC CPU per
# run): 19 runs, about 1.4 hours of training (each cross-task run 250-300 s at x4, 500-570 s at
# x16, DSRNet alone 45 s); scoring about 15 minutes (7.5 minutes for the 11 runs of the table).
# The table's rows were measured on "CPU B" (docs/results/dsr.md, Setup).
. "$(dirname "$0")/_lib.sh"
dsr_setup
F=("wo_ct_320{_seed}@0,1,2" "lam_S0.03{_seed}_320@0,1,2" "deaff_l1_320{_seed}@0,1,2"
  deaff_l1row_320 deaff_data_320)
V=(full_fixedde_320 full_sr_side0.1_320 full_data_320 "imp_320{_seed}@0,1")
V16=(full_data_320 full_sr_side0.1_320 wo_ct_320)
# shellcheck disable=SC2207  # run names have no spaces
T=($(family_runs 4 "${F[@]}" "${V[@]}"))
# shellcheck disable=SC2207
T16=($(family_runs 16 "${V16[@]}"))
dsr_train "${T[@]}" "${T16[@]}"
dsr_score 4 "${T[@]}"
dsr_score 16 "${T16[@]}"
dsr_families 4 "${F[@]}"
dsr_pairs 4 "0 1 2" "wo_ct_320{_seed}" "deaff_l1_320{_seed}"
dsr_pairs 4 "0 1 2" "lam_S0.03{_seed}_320" "deaff_l1_320{_seed}"
echo "== the variants above the table"
dsr_families 4 "${V[@]}" "wo_ct_320{_seed}@0,1" "lam_S0.03{_seed}_320@0,1"
dsr_pairs 4 "0 1" "lam_S0.03{_seed}_320" "imp_320{_seed}"
dsr_families 16 "${V16[@]}"
# shellcheck disable=SC2046  # run names have no spaces
dsr_rounds $(family_runs 4 "deaff_l1_320{_seed}@0,1,2" deaff_l1row_320 deaff_data_320 \
  "${V[@]}") $(family_runs 16 full_data_320 full_sr_side0.1_320)
