# shellcheck shell=bash
# Shared by the table scripts of experiments/ (sourced, not run).
#
# Every training run behind docs/results/dsr.md and docs/results/mde.md is defined here once,
# by its folder name (dsr_run_args, mde_run_args). A table script names the runs its table reads;
# with TRAIN=1 it first trains those that are missing (a folder holding summary.json is a
# finished run and is never retrained), then it scores the runs present and prints the table.
# Absent runs are skipped when scoring, so a table can be checked on part of its runs.
# Scores are kept between scripts: a report newer than its checkpoint is not made again.
#
# Environment: RUNS (run folders; default runs/exp_dsr for METHOD A, runs/exp_mde for
# METHOD B), TUNE (METHOD B loss-weight runs, default runs/mde_tune), TRAIN=1 (train the
# missing runs first), DEPTHDUET_DATA (the sample data, default ../shared/data).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS=experiments/tools
DATA=${DEPTHDUET_DATA:-../shared/data}

seed_of() {  # NAME: the seed in a run name (_seedN anywhere or a final _sN), 0 without one
  if [[ $1 =~ _seed([0-9]+) || $1 =~ _s([0-9]+)$ ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}

names() {  # TEMPLATE SEED...: run names; {_seed} is "" for seed 0 and _seedN otherwise, {seed} N
  local t=$1 seed sfx n out=(); shift
  for seed in "$@"; do
    sfx=""; [[ $seed == 0 ]] || sfx=_seed$seed
    n=${t//\{_seed\}/$sfx}; out+=("${n//\{seed\}/$seed}")
  done
  echo "${out[@]}"
}

family_runs() {  # SCALE FAMILY...: the run folders x<SCALE>_<name> of families TEMPLATE@SEEDS
  # (seeds comma-separated; a family without @ is one run)
  local s=$1 f seeds out=(); shift
  for f in "$@"; do
    seeds=0; [[ $f == *@* ]] && seeds=${f#*@}
    # shellcheck disable=SC2046,SC2086  # run names have no spaces; SEEDS are separate words
    out+=($(names "x${s}_${f%@*}" ${seeds//,/ }))
  done
  echo "${out[@]}"
}

fresh() {  # REPORT CHECKPOINT: true when REPORT exists and no checkpoint file is newer
  [[ -f $1 ]] && [[ -z $(find "$2" -type f -newer "$1" -print -quit) ]]
}

# ---- METHOD A (docs/results/dsr.md) ----------------------------------------------------------
# Every run: engine.threads=1 (bitwise reproducible on one CPU type), tiny preset unless it says
# small, batch 8, Adam lr 1e-3 (StepLR x0.5 every 10 epochs), LR made by antialiased bicubic
# downsampling of the HR map (data.degradation=bicubic) in training and in evaluation; seed 0
# unless the name says _seedN (or _sN). "_320": 10 epochs x 32 steps = 320 optimiser steps;
# "_640": 20 epochs; "_1280": 40; "_5120": 160 epochs with the LR halved every 40.
B="engine.threads=1 engine.progress=false engine.tensorboard=false optim.lr=1e-3"
# E: the loss settings of the first runs: structure weight lambda_S=0.1 (the default is 0.03
# since the 5120-step pairs lam_default_5120* / lam_S0.03_5120*), plain side outputs supervised
# into DSRNet with lambda_side 0.5, and the row-mean affinity distance l1_row (the configs now
# default to residual side outputs, lambda_side 0.1, side heads only and A.3's l1)
E="$B loss.lambda_S=0.1 distill.side_residual=false loss.lambda_side=0.5"
E="$E distill.side_into_dsr=true loss.affinity_loss=l1_row"
N="distill.side_residual=true loss.lambda_side=0.1 engine.epochs=10"  # residual side outputs
H="$N distill.side_into_dsr=false"  # and supervising the side heads only
L="$B engine.epochs=10 loss.lambda_S=0.1"  # today's defaults with lambda_S 0.1 (the then default)
G="$L engine.epochs=160 optim.step_size=40"  # 5120 steps, four LR halvings as at 1280 steps
# 16 training scenes instead of 256: 1280 steps (640 epochs x 2), LR halved every 320 steps and
# 32 warm-up steps as in the 256-scene runs
S="$L data.train_size=16 engine.epochs=640 engine.val_every=16 optim.step_size=160"
S="$S distill.warmup_rounds=16"
# DENet fixed as the teacher, no output-space terms: L_A pulls DSRNet's affinities to DENet's
D="$L loss.lambda_S=0.03 distill.teacher_selection=fixed_de distill.output_space=false"
# trained on the real maps (configs/dsr/real_x4.yaml: Sintel + Middlebury minus the held-out
# scenes), 320 steps, no validation (the held-out scenes are its val set): last checkpoint
R="$E engine.epochs=46 engine.max_steps=320 engine.val_every=0"
R_WO_CT="distill.output_space=false distill.affinity=false distill.spnet=false"

dsr_setup() {  # the METHOD A defaults: RUNS, CFG, the eval folder
  RUNS=${RUNS:-runs/exp_dsr}
  CFG=src/depthduet/configs/dsr
  mkdir -p "$RUNS/eval"
}

dsr_run_args() {  # NAME: "CONFIG OVERRIDES..." of the METHOD A run NAME (seed: seed_of)
  local n=$1 v
  case $n in
    # DSRNet alone (world_x4_wo_ct.yaml: no DENet, no SPNet, no distillation)
    tune_wo_ct_lr5e-4) echo "world_x4_wo_ct $E optim.lr=5e-4 engine.epochs=10" ;;
    x4_wo_ct_nearest_320) echo "world_x4_wo_ct $E engine.epochs=10 data.degradation=nearest" ;;
    x4_wo_ct_320 | x4_wo_ct_320_seed*) echo "world_x4_wo_ct $E engine.epochs=10" ;;
    x4_wo_ct_640) echo "world_x4_wo_ct $E engine.epochs=20" ;;
    x4_wo_ct_1280 | x4_wo_ct_1280_seed*) echo "world_x4_wo_ct $E engine.epochs=40" ;;
    x4_wo_ct_5120 | x4_wo_ct_5120_seed*) echo "world_x4_wo_ct $G" ;;
    x8_wo_ct_320 | x8_wo_ct_320_seed*)
      echo "world_x4_wo_ct $E engine.epochs=10 data.scale=8 data.crop=96" ;;
    x16_wo_ct_320 | x16_wo_ct_320_seed*)
      echo "world_x4_wo_ct $E engine.epochs=10 data.scale=16 data.crop=128" ;;
    x8_wo_ct_5120) echo "world_x4_wo_ct $G data.scale=8 data.crop=96" ;;
    x16_wo_ct_5120) echo "world_x4_wo_ct $G data.scale=16 data.crop=128" ;;
    x4_small_wo_ct_320_seed*) echo "world_x4_wo_ct $E engine.epochs=10 model.preset=small" ;;
    x4_small_wo_ct_640_seed*) echo "world_x4_wo_ct $E engine.epochs=20 model.preset=small" ;;
    x4_small_wo_ct_5120) echo "world_x4_wo_ct $G model.preset=small" ;;
    x4_n16_wo_ct_1280_s*) echo "world_x4_wo_ct $S" ;;
    # the full method with the first loss settings ($E) and variants of them
    x4_full_320) echo "world_x4 $E engine.epochs=10" ;;
    x4_full_side_residual_320) echo "world_x4 $E engine.epochs=10 distill.side_residual=true" ;;
    x4_full_sr_side0.1_320)
      echo "world_x4 $E engine.epochs=10 distill.side_residual=true loss.lambda_side=0.1" ;;
    x4_full_sr_side0.1_320_seed*) echo "world_x4 $E $N" ;;
    x16_full_sr_side0.1_320) echo "world_x16 $E $N" ;;
    x4_aff_sp_320 | x4_aff_sp_320_seed*)
      echo "world_x4 $E engine.epochs=10 distill.output_space=false" ;;
    x4_output_320 | x4_affinity_320 | x4_both_320)  # the paper's ablation configs
      v=${n#x4_}; echo "world_x4_${v%_320} $E $N" ;;
    x4_full_data_320) echo "world_x4 $E $N distill.de_target=data" ;;
    x16_full_data_320) echo "world_x16 $E $N distill.de_target=data" ;;
    x4_full_fixedde_320) echo "world_x4 $E $N distill.teacher_selection=fixed_de" ;;
    x4_full_1280 | x4_full_1280_seed*) echo "world_x4 $E $N engine.epochs=40" ;;
    x4_full_headsup_320 | x4_full_headsup_320_seed*) echo "world_x4 $E $H" ;;
    x4_full_headsup_1280 | x4_full_headsup_1280_seed*) echo "world_x4 $E $H engine.epochs=40" ;;
    x4_small_full_headsup_320_seed*) echo "world_x4 $E $H model.preset=small" ;;
    x4_small_full_headsup_640_seed*) echo "world_x4 $E $H engine.epochs=20 model.preset=small" ;;
    # today's defaults (A.3's entry-mean affinity l1), lambda_S 0.1 unless set
    x4_lam_default_320 | x4_lam_default_seed?_320) echo "world_x4 $L" ;;
    x4_lam_A0_320) echo "world_x4 $L loss.lambda_A=0" ;;
    x4_lam_A1000_320) echo "world_x4 $L loss.lambda_A=1000" ;;
    x4_lam_P0_320) echo "world_x4 $L loss.lambda_P=0" ;;
    x4_lam_P1_320) echo "world_x4 $L loss.lambda_P=1" ;;
    x4_lam_ssim0_320 | x4_lam_ssim0_seed?_320) echo "world_x4 $L loss.lambda_ssim=0" ;;
    x4_lam_default_1280 | x4_lam_default_1280_seed*) echo "world_x4 $L engine.epochs=40" ;;
    x8_lam_default_320 | x8_lam_default_320_seed*) echo "world_x8 $L" ;;
    x16_lam_default_320 | x16_lam_default_320_seed*) echo "world_x16 $L" ;;
    x4_lam_S0.03_320 | x4_lam_S0.03_seed?_320) echo "world_x4 $L loss.lambda_S=0.03" ;;
    x4_lam_S0.3_320) echo "world_x4 $L loss.lambda_S=0.3" ;;
    x4_lam_S1_320) echo "world_x4 $L loss.lambda_S=1" ;;
    x4_lam_S3_320) echo "world_x4 $L loss.lambda_S=3" ;;
    x4_lam_Sdet0.1_320) echo "world_x4 $L distill.spnet_error_grad=false" ;;
    x4_lam_Sdet1_320) echo "world_x4 $L distill.spnet_error_grad=false loss.lambda_S=1" ;;
    x4_n16_full_1280_s*) echo "world_x4 $S" ;;
    x4_lam_default_5120 | x4_lam_default_5120_seed*) echo "world_x4 $G" ;;
    x4_lam_S0.03_5120) echo "world_x4 $G engine.threads=2 loss.lambda_S=0.03" ;;
    x4_lam_S0.03_5120_seed*) echo "world_x4 $G loss.lambda_S=0.03" ;;
    x4_lam_S0.03_1280 | x4_lam_S0.03_1280_seed*)
      echo "world_x4 $L loss.lambda_S=0.03 engine.epochs=40" ;;
    x4_imp_320 | x4_imp_320_seed*)  # the review's other wording of the teacher rule
      echo "world_x4 $L loss.lambda_S=0.03 distill.teacher_selection=improvement" ;;
    x4_deaff_l1_320 | x4_deaff_l1_320_seed*) echo "world_x4 $D" ;;
    x4_deaff_l1row_320) echo "world_x4 $D loss.affinity_loss=l1_row" ;;
    x4_deaff_data_320) echo "world_x4 $D distill.de_target=data" ;;
    # trained on the real maps
    real_x4_wo_ct_320 | real_x4_wo_ct_320_seed*) echo "real_x4 $R $R_WO_CT" ;;
    real_x4_full_headsup_320_seed*) echo "real_x4 $R $H engine.epochs=46" ;;
    *) echo "unknown METHOD A run: $n" >&2; return 1 ;;
  esac
}

dsr_train() {  # RUN...: train the runs not finished yet (TRAIN=1 only)
  [[ ${TRAIN:-0} == 1 ]] || return 0
  local n spec seed extra
  for n in "$@"; do
    [[ -f $RUNS/$n/summary.json ]] && continue
    spec=$(dsr_run_args "$n")
    seed=$(seed_of "$n"); extra=()
    [[ $seed == 0 ]] || extra+=("engine.seed=$seed")
    [[ -d $RUNS/$n ]] && extra+=(--overwrite)
    # shellcheck disable=SC2086  # the overrides are separate words
    depthduet train --config "$CFG/${spec%% *}.yaml" ${spec#* } "${extra[@]}" --out "$RUNS/$n"
  done
}

dsr_ckpts() {  # SCALE RUN...: --ckpt LABEL=FOLDER of the runs with a best checkpoint (label:
  # the name without its x<scale>_ prefix)
  local s=$1 n; shift
  for n in "$@"; do
    if [[ -d $RUNS/$n/checkpoints/best ]]; then printf -- '--ckpt %s=%s ' "${n#x"$s"_}" "$RUNS/$n"; fi
  done
  return 0
}

dsr_world() {  # SCALE RUN...: the first 32 world test scenes, merged into eval/world_test_x<S>.json
  local s=$1; shift
  # shellcheck disable=SC2046  # dsr_ckpts prints whole words (run names have no spaces)
  python $TOOLS/dsr_world_test.py --scale "$s" --n 32 --degradation bicubic \
    $(dsr_ckpts "$s" "$@") --json "$RUNS/eval/world_test_x$s.json" --merge
}

eval_real() {  # SCALE LABEL CHECKPOINT [LR_FROM [FOLDER]]: the six held-out real scenes
  # (Middlebury 2003 cones / teddy, stored scaled disparity; Sintel Df_1/20/28/58, values as
  # given), LR from the ground truth by antialiased bicubic (or LR_FROM), read on the centre grid
  # in one pass (a model trained on LR_FROM places its samples itself); one report per scene,
  # kept while newer than the checkpoint
  local s=$1 r=$2 ck=$3 lr=${4:-bicubic} dir=${5:-$RUNS/eval} sc out
  for sc in cones teddy Df_1 Df_20 Df_28 Df_58; do
    out=$dir/x${s}_${r}_$sc.json
    if fresh "$out" "$ck"; then continue; fi
    if [[ $sc == cones || $sc == teddy ]]; then
      depthduet evaluate --protocol middlebury-dsr --gt-key img_double --quiet --lr-from "$lr" \
        --lr-grid center --gt "$DATA/middlebury_2001_2003/Depth/${sc}_2.mat" --checkpoint "$ck" \
        --baseline bicubic --scale "$s" --device cpu --json "$out"
    else
      depthduet evaluate --protocol sintel-dsr --gt-key Df --quiet --lr-from "$lr" \
        --lr-grid center --gt "$DATA/sintel_depth/$sc.mat" --checkpoint "$ck" \
        --baseline bicubic --scale "$s" --device cpu --json "$out"
    fi
  done
}

dsr_scenes() {  # SCALE RUN...: eval_real for every run with a best checkpoint
  local s=$1 n; shift
  for n in "$@"; do
    if [[ -d $RUNS/$n/checkpoints/best ]]; then eval_real "$s" "${n#x"$s"_}" "$RUNS/$n"; fi
  done
}

dsr_score() {  # SCALE RUN...: world test split and the six real scenes
  dsr_world "$@"
  dsr_scenes "$@"
}

dsr_families() {  # SCALE FAMILY...: one row per family TEMPLATE@SEEDS (means over its runs)
  local s=$1 f args=(); shift
  for f in "$@"; do args+=(--family "$f"); done
  python $TOOLS/dsr_table_summary.py "$RUNS/eval" --scale "$s" "${args[@]}"
}

dsr_pairs() {  # SCALE "SEEDS" A B: paired by seed, world test and the six scenes
  # shellcheck disable=SC2086  # SEEDS are separate words
  python $TOOLS/dsr_seed_pairs.py --eval "$RUNS/eval" --world "$RUNS/eval/world_test_x$1.json" \
    --scale "$1" --seeds $2 --a "$3" --b "$4"
}

dsr_real_all() {  # SCALE BUDGET RUN...: every real map with ground truth (77 maps, five groups),
  # merged into eval/real_all_x<SCALE>_<BUDGET>.json
  local s=$1 b=$2; shift 2
  # shellcheck disable=SC2046
  python $TOOLS/dsr_real_heldout.py --data "$DATA" --scale "$s" $(dsr_ckpts "$s" "$@") \
    --json "$RUNS/eval/real_all_x${s}_$b.json" --merge
}

dsr_real_runs() {  # "SEEDS": train (with TRAIN=1) and score on every real map the runs of the
  # "All 77 real maps" tables: DSRNet alone and the full method at x4 after 320 steps (seeds
  # 0-2) and after 1280 and 5120 steps (SEEDS), at x8 and x16 after 320 steps (seeds 0-2)
  # shellcheck disable=SC2086,SC2207  # SEEDS is a word list; run names have no spaces
  local a=($(names "x4_wo_ct_320{_seed}" 0 1 2) $(names "x4_lam_S0.03{_seed}_320" 0 1 2)) \
    b=($(names "x4_wo_ct_1280{_seed}" $1) $(names "x4_lam_S0.03_1280{_seed}" $1)) \
    c=($(names "x4_wo_ct_5120{_seed}" $1) $(names "x4_lam_S0.03_5120{_seed}" $1)) \
    x8=($(names "x8_wo_ct_320{_seed}" 0 1 2) $(names "x8_lam_default_320{_seed}" 0 1 2)) \
    x16=($(names "x16_wo_ct_320{_seed}" 0 1 2) $(names "x16_lam_default_320{_seed}" 0 1 2))
  dsr_train "${a[@]}" "${b[@]}" "${c[@]}" "${x8[@]}" "${x16[@]}"
  dsr_real_all 4 320 "${a[@]}"
  dsr_real_all 4 1280 "${b[@]}"
  dsr_real_all 4 5120 "${c[@]}"
  dsr_real_all 8 320 "${x8[@]}"
  dsr_real_all 16 320 "${x16[@]}"
}

dsr_real_families() {  # REPORT FAMILY...: per family the mean over seeds of each group's ratio
  local rep=$1 f args=(); shift
  for f in "$@"; do args+=(--family "$f"); done
  python $TOOLS/dsr_real_heldout.py --from "$RUNS/eval/$rep" "${args[@]}"
}

dsr_real_pair() {  # REPORT "SEEDS" A B: paired geometric-mean ratios (a missing run is reported)
  # shellcheck disable=SC2086
  python $TOOLS/dsr_real_heldout.py --from "$RUNS/eval/$1" --family "$3@${2// /,}" \
    --family "$4@${2// /,}" --seeds $2 --a "$3" --b "$4" || echo "(pairing skipped: $1 lacks a run)"
}

dsr_rounds() {  # RUN...: teacher of every round and the validation errors (tools/dsr_rounds.py)
  local n args=()
  for n in "$@"; do args+=("$RUNS/$n"); done
  python $TOOLS/dsr_rounds.py "${args[@]}"
}

# ---- METHOD B (docs/results/mde.md) ----------------------------------------------------------
# Every run: procedural driving world, 64 training scenes at 64x160, batch 4, 20 epochs x 16 steps
# = 320 Adam steps, lr 1e-4 (x0.1 at epoch 15), no ImageNet weights, engine.threads=1, validation
# on 16 val scenes every 5 epochs; the tables read the last checkpoint (step 320). The configs
# alone train at 96x320 on 256 scenes.
COMMON="data.train_size=64 data.val_size=16 data.world.height=64 data.world.width=160"
COMMON="$COMMON engine.epochs=20 engine.val_every=5 engine.threads=1 engine.progress=false"
COMMON="$COMMON engine.tensorboard=false engine.log_every=16"

mde_setup() {  # the METHOD B defaults: RUNS, TUNE, MCFG, and WORLD_RUNS
  RUNS=${RUNS:-runs/exp_mde}
  TUNE=${TUNE:-runs/mde_tune}
  MCFG=src/depthduet/configs/mde
  # the 13 world runs of the mode tables (validation and test split): 7 settings, 3 of them
  # with two more seeds
  WORLD_RUNS=(world_sup world_self_m world_self_ms world_semi world_semi_nodistill world_semi_nopf
    world_semi_sharedaug world_sup_seed1 world_sup_seed2 world_self_ms_seed1 world_self_ms_seed2
    world_semi_seed1 world_semi_seed2)
  mkdir -p "$RUNS"
}

mde_run_args() {  # NAME: "CONFIG OVERRIDES..." of the METHOD B run NAME (_seedN: its seed)
  local n=${1%_seed[0-9]*}
  case $n in
    world_sup | world_self_m | world_self_ms | world_semi | world_semi_nodistill | \
      world_semi_nopf | world_semi_sharedaug) echo "$n" ;;
    # the loss-weight runs (validation split), with the point-filtering weight 1.0 then
    world_sup_pf1) echo "world_sup loss.lambda_pf=1.0" ;;
    world_sup_m10) echo "world_sup loss.pf_m=10 loss.lambda_pf=1.0" ;;
    world_sup_lr3e-4) echo "world_sup optim.lr=3e-4 loss.lambda_pf=1.0" ;;
    world_sup_lr1e-3) echo "world_sup optim.lr=1e-3 loss.lambda_pf=1.0" ;;
    world_semi_sd0.1) echo "world_semi loss.lambda_sd=0.1 loss.lambda_pf=1.0" ;;
    world_semi_m10_warm80) echo "world_semi loss.pf_m=10 loss.distill_warmup_steps=80 \
loss.lambda_sd=0.1 loss.lambda_pf=1.0" ;;
    world_semi_m10_warm80_ud1) echo "world_semi loss.pf_m=10 loss.distill_warmup_steps=80 \
loss.lambda_sd=0.1 loss.lambda_pf=1.0 loss.lambda_ud=1.0" ;;
    world_semi_oneway) echo "world_semi loss.lambda_sd=0 loss.lambda_pf=1.0" ;;
    world_semi_ud0.3) echo "world_semi loss.lambda_ud=0.3 loss.lambda_pf=1.0" ;;
    world_semi_pf1) echo "world_semi loss.lambda_pf=1.0" ;;
    *) echo "unknown METHOD B run: $1" >&2; return 1 ;;
  esac
}

mde_train() {  # FOLDER RUN...: train the runs not finished yet into FOLDER (TRAIN=1 only); the
  # log of each goes to FOLDER/RUN.log
  [[ ${TRAIN:-0} == 1 ]] || return 0
  local dir=$1 n spec extra; shift
  mkdir -p "$dir"
  for n in "$@"; do
    [[ -f $dir/$n/summary.json ]] && continue
    spec=$(mde_run_args "$n"); extra=()
    [[ -d $dir/$n ]] && extra+=(--overwrite)
    # shellcheck disable=SC2086  # the overrides are separate words
    depthduet train --config "$MCFG/${spec%% *}.yaml" $COMMON ${spec#"${spec%% *}"} \
      engine.seed="$(seed_of "$n")" "${extra[@]}" --out "$dir/$n" > "$dir/$n.log" 2>&1
  done
}

in_dir() {  # FOLDER RUN...: the paths FOLDER/RUN
  local dir=$1 n out=(); shift
  for n in "$@"; do out+=("$dir/$n"); done
  echo "${out[@]}"
}
