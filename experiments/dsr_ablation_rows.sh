#!/usr/bin/env bash
# docs/results/dsr.md, table "The paper's ablation rows (METHOD.md A.5)": x4, 320 steps, seed 0,
# with distill.side_into_dsr=true loss.affinity_loss=l1_row loss.lambda_S=0.1: DSRNet alone,
# + output space, + affinity, + both (configs/dsr/world_x4_{output,affinity,both}.yaml) and the
# full method, on the world test split and the six real held-out scenes.
#
#   TRAIN=1 bash experiments/dsr_ablation_rows.sh   # train the missing runs, then the table
#   bash experiments/dsr_ablation_rows.sh           # the table of the runs in $RUNS
#
# Time, from the training times on docs/results/dsr.md (one thread of a 2-core AMD EPYC CPU):
# 5 runs, about 15 minutes of training (DSRNet alone 45 s, + output space 63 s, + affinity 231 s,
# + both 264 s, the full method about 300 s); scoring about 5 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
RUNS_T=(x4_wo_ct_320 x4_output_320 x4_affinity_320 x4_both_320 x4_full_sr_side0.1_320)
dsr_train "${RUNS_T[@]}"
dsr_score 4 "${RUNS_T[@]}"
dsr_families 4 wo_ct_320 output_320 affinity_320 both_320 full_sr_side0.1_320
