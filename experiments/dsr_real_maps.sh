#!/usr/bin/env bash
# docs/results/dsr.md, table "All 77 real maps" (geometric-mean RMSE / bicubic per group, mean
# over seeds 0-2): DSRNet alone and the full method (today's defaults) at x4 after 320, 1280 and
# 5120 steps, and with lambda_S=0.1 at x8 and x16 after 320 steps, on every real map with ground
# truth in the sample data (experiments/tools/dsr_real_heldout.py; none was seen in training).
#
#   TRAIN=1 bash experiments/dsr_real_maps.sh   # train the missing runs, then the table
#   bash experiments/dsr_real_maps.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 30 runs, about 6.2 hours of training (at x4 the full method 280 / 1140 /
# 4400 s at 320 / 1280 / 5120 steps, DSRNet alone 45 / 100 / 390 s; at x8 / x16 the full method
# 350 / 570 s, DSRNet alone 72 / 140 s); scoring about 30 s per run, 15 minutes.
. "$(dirname "$0")/_lib.sh"
dsr_setup
dsr_real_runs "0 1 2"
dsr_real_families real_all_x4_320.json "wo_ct_320{_seed}@0,1,2" "lam_S0.03{_seed}_320@0,1,2"
dsr_real_families real_all_x4_1280.json "wo_ct_1280{_seed}@0,1,2" "lam_S0.03_1280{_seed}@0,1,2"
dsr_real_families real_all_x4_5120.json "wo_ct_5120{_seed}@0,1,2" "lam_S0.03_5120{_seed}@0,1,2"
for s in 8 16; do
  dsr_real_families "real_all_x${s}_320.json" "wo_ct_320{_seed}@0,1,2" "lam_default_320{_seed}@0,1,2"
done
