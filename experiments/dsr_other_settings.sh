#!/usr/bin/env bash
# docs/results/dsr.md, table "Other settings": the full method with loss.lambda_S=0.1 (and the
# overrides of each row) against DSRNet alone, paired by seed: x4 after 320, 1280 and 5120 steps,
# x8 and x16 after 320 steps, the small preset after 320 (seeds 0-5) and 640 steps, 16 training
# scenes, and trained on the real maps (last checkpoints, the six real scenes only); world test
# split and the six real held-out scenes. Then the means of each family (text below the table).
#
#   TRAIN=1 bash experiments/dsr_other_settings.sh   # train the missing runs, then the table
#   bash experiments/dsr_other_settings.sh           # the table of the runs in $RUNS
#
# Time, estimated from the training times on docs/results/dsr.md (one thread of a 2-core AMD
# EPYC CPU per run): 60 runs, about 10 hours of training (three 5120-step full-method runs take
# 3.7 of them; small preset 145 / 620 s for DSRNet alone / the full method at 320 steps, 225 /
# 1200 s at 640); scoring about 1 hour.
. "$(dirname "$0")/_lib.sh"
dsr_setup
P=(  # SCALE SEEDS A B of each row
  "4|0 1 2|wo_ct_320{_seed}|lam_default{_seed}_320"
  "8|0 1 2|wo_ct_320{_seed}|lam_default_320{_seed}"
  "4|0 1 2|wo_ct_1280{_seed}|lam_default_1280{_seed}"
  "4|0 1 2|wo_ct_5120{_seed}|lam_default_5120{_seed}"
  "16|0 1 2|wo_ct_320{_seed}|lam_default_320{_seed}"
  "4|0 1 2 3 4 5|small_wo_ct_320_seed{seed}|small_full_headsup_320_seed{seed}"
  "4|0 1 2|small_wo_ct_640_seed{seed}|small_full_headsup_640_seed{seed}"
  "4|0 1 2|n16_wo_ct_1280_s{seed}|n16_full_1280_s{seed}"
)
declare -A BY_SCALE=()
for p in "${P[@]}"; do
  IFS='|' read -r s seeds a b <<< "$p"
  BY_SCALE[$s]+=" $(family_runs "$s" "$a@${seeds// /,}" "$b@${seeds// /,}")"
done
# trained on the real maps: last checkpoints, labels real_<name>
REAL=(real_x4_wo_ct_320 real_x4_wo_ct_320_seed1 real_x4_wo_ct_320_seed2)
# shellcheck disable=SC2207  # run names have no spaces
REAL+=($(names "real_x4_full_headsup_320_seed{seed}" 0 1 2))
# shellcheck disable=SC2086  # run names have no spaces
dsr_train ${BY_SCALE[4]} ${BY_SCALE[8]} ${BY_SCALE[16]} "${REAL[@]}"
for s in 4 8 16; do
  # shellcheck disable=SC2086
  dsr_score $s ${BY_SCALE[$s]}
done
for r in "${REAL[@]}"; do
  label=real_${r#real_x4_}; [[ $label == real_wo_ct_320 ]] && label=real_wo_ct_320_seed0
  if [[ -d $RUNS/$r/checkpoints/last ]]; then eval_real 4 "$label" "$RUNS/$r/checkpoints/last"; fi
done
for p in "${P[@]}"; do
  IFS='|' read -r s seeds a b <<< "$p"
  echo "== x$s: $a against $b"
  dsr_pairs "$s" "$seeds" "$a" "$b"
done
echo "== x4, trained on the real maps (no world test)"
dsr_pairs 4 "0 1 2" "real_wo_ct_320_seed{seed}" "real_full_headsup_320_seed{seed}"
echo "== means of each family"
dsr_families 4 "small_wo_ct_320_seed{seed}@0,1,2,3,4,5" "small_full_headsup_320_seed{seed}@0,1,2,3,4,5" \
  "n16_wo_ct_1280_s{seed}@0,1,2" "n16_full_1280_s{seed}@0,1,2" "wo_ct_1280{_seed}@0,1,2" \
  "real_wo_ct_320_seed{seed}@0,1,2" "real_full_headsup_320_seed{seed}@0,1,2"
