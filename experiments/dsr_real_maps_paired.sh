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
dsr_real_runs "0 1 2 3 4"
dsr_real_pair real_all_x4_320.json "0 1 2" "wo_ct_320{_seed}" "lam_S0.03{_seed}_320"
dsr_real_pair real_all_x4_1280.json "0 1 2 3 4" "wo_ct_1280{_seed}" "lam_S0.03_1280{_seed}"
dsr_real_pair real_all_x4_5120.json "0 1 2 3 4" "wo_ct_5120{_seed}" "lam_S0.03_5120{_seed}"
for s in 8 16; do
  dsr_real_pair "real_all_x${s}_320.json" "0 1 2" "wo_ct_320{_seed}" "lam_default_320{_seed}"
done
