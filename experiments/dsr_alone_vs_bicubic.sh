#!/usr/bin/env bash
# docs/results/dsr.md, table "DSRNet alone against bicubic": DSRNet alone at x4 after 320, 640,
# 1280 and 5120 steps (and the small preset at 5120), at x8 and x16 after 320 and 5120 steps,
# with bicubic upsampling of the same LR: world test split and the six real held-out scenes,
# means over the seeds of each row; then the point-sampled LR run of the text below the table
# (trained and scored on data.degradation=nearest) and the learning-rate check of the Setup table
# (validation RMSE of DSRNet alone with lr 1e-3 and 5e-4).
#
#   TRAIN=1 bash experiments/dsr_alone_vs_bicubic.sh   # train the missing runs, then the table
#   bash experiments/dsr_alone_vs_bicubic.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 21 runs, about 1.6 hours of training (x4: 45 s at 320 steps, 390 s at 5120,
# 1430 s for the small preset; x8 / x16: 72 / 140 s at 320 steps, about 10 / 20 minutes at
# 5120); scoring about 20 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
# shellcheck disable=SC2207  # run names have no spaces
X4=($(names "x4_wo_ct_320{_seed}" 0 1 2) x4_wo_ct_640 $(names "x4_wo_ct_1280{_seed}" 0 1 2)
  $(names "x4_wo_ct_5120{_seed}" 0 1 2) x4_small_wo_ct_5120)
# shellcheck disable=SC2207
X8=($(names "x8_wo_ct_320{_seed}" 0 1 2) x8_wo_ct_5120)
# shellcheck disable=SC2207
X16=($(names "x16_wo_ct_320{_seed}" 0 1 2) x16_wo_ct_5120)
dsr_train "${X4[@]}" "${X8[@]}" "${X16[@]}" x4_wo_ct_nearest_320 tune_wo_ct_lr5e-4
dsr_score 4 "${X4[@]}"
dsr_score 8 "${X8[@]}"
dsr_score 16 "${X16[@]}"
dsr_families 4 "wo_ct_320{_seed}@0,1,2" wo_ct_640 "wo_ct_1280{_seed}@0,1,2" \
  "wo_ct_5120{_seed}@0,1,2" small_wo_ct_5120
for s in 8 16; do dsr_families $s "wo_ct_320{_seed}@0,1,2" wo_ct_5120; done
NR=$RUNS/x4_wo_ct_nearest_320  # point-sampled LR everywhere (hr[s//2::s, s//2::s])
if [[ -d $NR/checkpoints/best ]]; then
  mkdir -p "$RUNS/eval/nearest"
  python $TOOLS/dsr_world_test.py --scale 4 --n 32 --degradation nearest \
    --ckpt "wo_ct_nearest_320=$NR" --json "$RUNS/eval/nearest/world_test_x4.json" --merge
  eval_real 4 wo_ct_nearest_320 "$NR" nearest "$RUNS/eval/nearest"
  python $TOOLS/dsr_table_summary.py "$RUNS/eval/nearest" --scale 4
fi
echo "== learning rate (validation split): 1e-3, 5e-4"
dsr_rounds x4_wo_ct_320 tune_wo_ct_lr5e-4
