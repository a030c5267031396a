#!/usr/bin/env bash
# How cost grows with image size and batch (bench/RESULTS.md, issue 13):
#   bench/cost_growth.sh BIN_DIR OUT_DIR
# 1. inference: Swin-T `rgb` and `full` (configs/full.json), f32, batch 1/2/4 at
#    240x320, 480x640, 960x1280: latency, peak RSS and the stage that dominates
#    (`rgbdseg bench --profile`), one process per case;
# 2. training: one step of the demo-size model (configs/hf/demo-tiny.json), f32,
#    the same sizes and batches (bench_train_step: forward / loss / backward);
# 3. the loader: 12 steps of `rgbdseg train` on synthetic scenes of each size
#    (the demo's config: 2 workers) and how much of steps 3-12 waited for data.
# Takes ~15 minutes on 2 cores; run it on a quiet machine.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BIN_DIR OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$1" && pwd)"; out="$2"
mkdir -p "$out"
sizes="240x320 480x640 960x1280"

echo "## inference: Swin-T, f32, 2 threads"
echo "| variant | size | batch | median ms | ms per image | peak RSS MB | largest stage | its share |"
echo "|---|---|---|---|---|---|---|---|"
for variant in rgb full; do
  for size in $sizes; do
    for batch in 1 2 4; do
      log="$out/infer_${variant}_${size}_b${batch}.txt"
      "$bin/rgbdseg" bench --config "$here/configs/full.json" --variants $variant --size $size --batch $batch \
        --runs 2 --profile -q > "$log"
      # | config | variant | size | batch | dtype | threads | median | min | max | vs | GMAC | GFLOP/s | % | RSS | commit |
      row=$(grep -m1 -E "^\| [^|]+ \| $variant \| $size \|" "$log")
      ms=$(echo "$row" | awk -F'|' '{gsub(/ /,"",$8); print $8}')
      rss=$(echo "$row" | awk -F'|' '{gsub(/ /,"",$15); print $15}')
      # Stages whose names have no dot are the top level (depth.* are inside depth).
      stage=$(awk -F'|' '/^\| stage/{on=1; next} on && /^\|---/{next} on && /^\| /{n=$2; gsub(/ /,"",n); if (n !~ /\./) print n, $3, $4} on && !/^\|/{exit}' "$log" |
              sort -k2 -g -r | head -1)
      echo "| $variant | $size | $batch | $ms | $(awk -v m="$ms" -v b=$batch 'BEGIN{printf "%.0f", m/b}') | $rss | $(echo "$stage" | awk '{print $1}') | $(echo "$stage" | awk '{print $3}') |"
    done
  done
done

echo
echo "## training step: demo-size model, f32, 2 threads"
echo "| variant | size | batch | forward ms | loss ms | backward + step ms | step ms | images/s | peak RSS MB | GFLOP/s | % of conv fwd+bwd |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for variant in rgb full; do
  for size in $sizes; do
    for batch in 1 2 4; do
      "$bin/bench_train_step" "$here/configs/hf/demo-tiny.json" $variant $size $batch 2 f32 1024 2>/dev/null |
        awk -F'|' '{printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", $3, $4, $5, $8, $9, $10, $11, $12, $13, $14, $15}'
    done
  done
done

echo
echo "## the loader: does the step wait for data? (rgbdseg train, configs/demo.json, 2 workers)"
echo "| size | batch | steps 3-12: seconds | of which waiting for data | share |"
echo "|---|---|---|---|---|"
for size in $sizes; do
  data="$out/scenes_$size"
  [ -f "$data/annotations.json" ] || "$bin/rgbdseg" synth --out "$data" --num 48 --size $size --seed 11 -q > /dev/null
  for batch in 1 2 4; do
    run="$out/train_${size}_b${batch}"
    "$bin/rgbdseg" train --config "$here/configs/demo.json" --out "$run" --force -q \
      --set data.train="$data/annotations.json" --set data.val= --set data.batch_size=$batch \
      --set train.max_steps=12 --set train.log_every=1 --set train.checkpoint_every=0 --set train.eval_every=0 > /dev/null
    grep '"type":"train"' "$run/train.jsonl" | awk -v size=$size -v batch=$batch '
      { step = $0; sub(/.*"step":/, "", step); sub(/,.*/, "", step);
        t = $0; sub(/.*"time_s":/, "", t); sub(/[,}].*/, "", t);
        w = $0; sub(/.*"data_wait_s":/, "", w); sub(/[,}].*/, "", w);
        if (step + 0 >= 3) { T += t; W += w } }
      END { printf "| %s | %s | %.2f | %.3f | %.1f%% |\n", size, batch, T, W, 100 * W / T }'
  done
done
