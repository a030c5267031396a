#!/usr/bin/env bash
# The depth ablation on COTS (README, "The tabletop model"): for each VARIANT_sSEED,
# synthetic pre-training (2,600 steps) -> fine-tuning on COTS' training groups
# (300 steps) -> class-agnostic mask AP on the validation groups, plus the
# pre-trained model's zero-shot AP on all COTS frames.
#
#   scripts/cots_ablation.sh RUNS rgb_s0 full_s0 rgb_s1 full_s1 dggm_s0 dsam_s0 edsam_s0
#
# With --from-scratch before RUNS: the paper's own setting, real data only. No
# pre-training; each job trains 600 steps (the fine-tuning recipe's length) on
# COTS' training groups from random weights -> scratch_V_sS/, val_scratch_V_sS.json
# (~10 min a job).
#
# RUNS holds the inputs made by the README's step 1: pool/ (synth --style
# tabletop --seed 7), cots_all/ and cots/ (convert cots, split by group).
# Results go to RUNS/ablation/: pt_V_sS/, ft_V_sS/ (training runs with their
# logs), zs_V_sS.json and val_V_sS.json (eval --json). About 40 min a job on
# 2 cores. Run it again to continue: finished stages are skipped, a stopped
# training run resumes exactly from its last checkpoint.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rgbdseg="${RGBDSEG:-$here/build/bin/rgbdseg}"
configs="$here/configs"
from_scratch=0
if [ "${1:-}" = "--from-scratch" ]; then from_scratch=1; shift; fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--from-scratch] RUNS VARIANT_sSEED... (e.g. rgb_s0 full_s0)" >&2
  exit 2
fi
runs="$(cd "$1" && pwd)"; shift
inputs=(cots/train/annotations.json cots/val/annotations.json)
[ $from_scratch -eq 1 ] || inputs=(pool/annotations.json cots_all/annotations.json "${inputs[@]}")
for input in "${inputs[@]}"; do
  [ -f "$runs/$input" ] || { echo "$0: $runs/$input: not found (make it with the README's step 1)" >&2; exit 2; }
done
out="$runs/ablation"
mkdir -p "$out"

# train_stage DIR ARGS...: one training run; DONE marks it finished.
train_stage() {
  local dir=$1; shift
  [ -f "$dir/DONE" ] && return 0
  local mode=()
  if [ -d "$dir/last" ]; then mode=(--resume); elif [ -d "$dir" ]; then mode=(--force); fi
  echo "$(date +%T) train $(basename "$dir") (log: $dir.log)"
  "$rgbdseg" train --out "$dir" "${mode[@]}" "$@" >"$dir.log" 2>&1 || { echo "$0: training failed, see $dir.log" >&2; exit 1; }
  touch "$dir/DONE"
}

# eval_stage MODEL DATA JSON
eval_stage() {
  [ -f "$3" ] && return 0
  "$rgbdseg" eval --model "$1" --data "$2" --json "$3.tmp" >"${3%.json}.log" 2>&1 || { echo "$0: eval failed, see ${3%.json}.log" >&2; exit 1; }
  mv "$3.tmp" "$3"
}

for job in "$@"; do
  variant=${job%_s*}; seed=${job#*_s}
  case "$variant" in rgb|dggm|dsam|edsam|full) ;; *) echo "$0: $job: expected VARIANT_sSEED with VARIANT one of rgb dggm dsam edsam full" >&2; exit 2 ;; esac
  [[ "$seed" =~ ^[0-9]+$ ]] || { echo "$0: $job: the seed after _s must be a number" >&2; exit 2; }
  if [ $from_scratch -eq 1 ]; then
    sc="$out/scratch_$job"
    train_stage "$sc" --config "$configs/tabletop-finetune-cots.json" \
      --set model.variant="$variant" --set train.seed="$seed" --set train.max_steps=600 --set train.eval_every=150 \
      --set data.train="$runs/cots/train/annotations.json" --set data.val="$runs/cots/val/annotations.json"
    eval_stage "$sc/last" "$runs/cots/val/annotations.json" "$out/val_scratch_$job.json"
    echo "$(date +%T) $job from scratch: validation AP $(grep -m1 -A1 '"stats"' "$out/val_scratch_$job.json" | tail -1 | tr -d ' ,')"
    continue
  fi
  pt="$out/pt_$job"; ft="$out/ft_$job"
  train_stage "$pt" --config "$configs/tabletop-pretrain.json" --set model.variant="$variant" --set train.seed="$seed" \
    --set train.max_steps=2600 --set train.eval_every=650 \
    --set data.train="$runs/pool/annotations.json" --set data.val="$runs/cots_all/annotations.json"
  eval_stage "$pt/last" "$runs/cots_all/annotations.json" "$out/zs_$job.json"
  train_stage "$ft" --config "$configs/tabletop-finetune-cots.json" --init "$pt/last/model.safetensors" \
    --set model.variant="$variant" --set train.seed="$seed" --set train.max_steps=300 --set train.eval_every=150 \
    --set data.train="$runs/cots/train/annotations.json" --set data.val="$runs/cots/val/annotations.json"
  eval_stage "$ft/last" "$runs/cots/val/annotations.json" "$out/val_$job.json"
  echo "$(date +%T) $job: validation AP $(grep -m1 -A1 '"stats"' "$out/val_$job.json" | tail -1 | tr -d ' ,')"
done
