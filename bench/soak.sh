#!/usr/bin/env bash
# Soak: does resident memory stay flat over long runs? (issue 15)
#   bench/soak.sh [--steps N] [--predictions N] [--out DIR] [--size HxW]
# 1. trains the demo configuration (configs/demo.json: the demo's model and
#    recipe, evaluation and checkpoints every 325 steps) for N steps (2000) on
#    synthetic scenes;
# 2. predicts N single images (10000), one image per forward pass
#    (eval.batch_size=1), the folder holding repeats of 50 held-out scenes.
# Each process's resident memory (VmRSS) is sampled every second with its
# progress (steps from train.jsonl, images from the overlays written) into
# OUT/train_rss.csv and OUT/predict_rss.csv; the summary gives RSS after
# warm-up (the first 10% of progress), the peak after it, the end, and the
# growth per 1000 steps or images (least squares after warm-up).
# Not in CI (about 30 minutes on 2 cores).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rgbdseg="${RGBDSEG:-$here/build/bin/rgbdseg}"
steps=2000 predictions=10000 out=/tmp/rgbdseg-soak size=240x320
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --predictions) predictions="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$rgbdseg" ] || { echo "soak.sh: $rgbdseg not built (scripts/build.sh)" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"

# sample PID CSV PROGRESS_COMMAND: one "seconds,rss_kb,progress" line per second while PID lives.
sample() {
  local pid=$1 csv=$2 progress=$3 t0
  t0=$(date +%s)
  echo "seconds,rss_kb,progress" > "$csv"
  while kill -0 "$pid" 2>/dev/null; do
    local rss
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(($(date +%s) - t0)),$rss,$(eval "$progress")" >> "$csv"
    sleep 1
  done
}

summarise() {  # summarise CSV UNIT
  /usr/bin/python3 - "$1" "$2" <<'PY'
import csv, sys
rows = [(float(r["seconds"]), int(r["rss_kb"]) / 1024, int(r["progress"] or 0)) for r in csv.DictReader(open(sys.argv[1]))]
unit = sys.argv[2]
total = max(p for _, _, p in rows)
warm = [r for r in rows if r[2] >= 0.1 * total]
if len(warm) < 2:
    sys.exit(f"{sys.argv[1]}: too few samples after warm-up")
n = len(warm)
mp = sum(p for _, _, p in warm) / n
mr = sum(m for _, m, _ in warm) / n
slope = sum((p - mp) * (m - mr) for _, m, p in warm) / max(1e-9, sum((p - mp) ** 2 for _, _, p in warm))
print(f"  {total} {unit} in {rows[-1][0]:.0f} s, {len(rows)} samples; RSS MB: peak during warm-up {max(m for _, m, p in rows if p < 0.1 * total) if any(p < 0.1 * total for _, _, p in rows) else float('nan'):.0f}, "
      f"after warm-up {warm[0][1]:.0f}, peak after warm-up {max(m for _, m, _ in warm):.0f}, end {warm[-1][1]:.0f}; "
      f"growth after warm-up {slope * 1000:+.1f} MB per 1000 {unit}")
PY
}

echo "== data: synthetic scenes at $size"
"$rgbdseg" synth -q --out "$out/train" --num 1000 --size "$size" --seed 1 >/dev/null
"$rgbdseg" synth -q --out "$out/val" --num 50 --size "$size" --seed 2 >/dev/null

echo "== train: $steps steps of configs/demo.json"
"$rgbdseg" train --config "$here/configs/demo.json" --out "$out/run" -q \
  --set "data.train=$out/train/annotations.json" --set "data.val=$out/val/annotations.json" \
  --set "train.max_steps=$steps" >"$out/train.log" 2>&1 &
pid=$!
sample $pid "$out/train_rss.csv" "tail -n 1 '$out/run/train.jsonl' 2>/dev/null | sed -n 's/.*\"step\": *\([0-9]*\).*/\1/p' | head -n 1" &
wait $pid
wait
summarise "$out/train_rss.csv" steps

echo "== predict: $predictions single images"
mkdir -p "$out/many/rgb" "$out/many/depth"
for ((i = 0; i < predictions; i++)); do
  src=$(printf '%06d' $((i % 50)))
  ln -s "$out/val/rgb/$src.png" "$out/many/rgb/$(printf '%06d' "$i").png"
  ln -s "$out/val/depth/$src.png" "$out/many/depth/$(printf '%06d' "$i").png"
done
"$rgbdseg" predict --model "$out/run/last" --dir "$out/many" --out "$out/pred" -q --set eval.batch_size=1 \
  >"$out/predict.log" 2>&1 &
pid=$!
sample $pid "$out/predict_rss.csv" "ls '$out/pred/overlays' 2>/dev/null | wc -l" &
wait $pid
wait
summarise "$out/predict_rss.csv" images
