#!/usr/bin/env bash
# Speed of two builds side by side, in one run (bench/RESULTS.md, issue 13):
#   bench/compare_speed.sh BASELINE_BIN_DIR NEW_BIN_DIR [COTS_VAL_ANNOTATIONS.json]
# Each BIN_DIR holds rgbdseg, bench_train_step and bench_ms_deform_attn (a
# build's bin/; set LD_LIBRARY_PATH for a copied one). Forward latency of the
# demo-size and Swin-T `full` models, one training step of the demo's shape,
# the deformable-attention op, and, given a COTS dataset JSON of 720p frames,
# `predict` on the folder and on one frame (wall time, peak RSS). Run it on a
# quiet machine: nothing else training or building.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BASELINE_BIN_DIR NEW_BIN_DIR [COTS_VAL_ANNOTATIONS.json]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
old="$1"; new="$2"; cots="${3:-}"
export RGBDSEG_MODELS="$here/models"
row() { grep -E '\| (rgb|full) \|' | sed 's/^/  /'; }
for build in "$old" "$new"; do
  echo "== $build"
  for size in 480x640 720x1280; do
    for dtype in f32 bf16; do
      "$build/rgbdseg" bench --config "$here/configs/demo.json" --size $size --dtype $dtype --runs 7 -q | row
    done
  done
  for dtype in f32 bf16; do
    "$build/rgbdseg" bench --config "$here/configs/full.json" --variants rgb,full --size 480x640 --dtype $dtype --runs 5 -q | row
  done
  for variant in rgb full; do
    for precision in bf16 f32; do
      "$build/bench_train_step" "$here/configs/hf/demo-tiny.json" $variant 240x320 4 7 $precision 1024 2>/dev/null | tail -1 | sed 's/^/  /'
    done
  done
  "$build/bench_ms_deform_attn" 5 2 2>/dev/null | grep 'rgbdseg CPU kernel' | sed 's/^/  /'
  if [ -n "$cots" ]; then
    dir="$(dirname "$cots")"
    first="$(grep -o '"file_name": *"[^"]*"' "$cots" | head -1 | sed 's/.*: *"//; s/"$//')"
    depth="$(grep -o '"depth_file": *"[^"]*"' "$cots" | head -1 | sed 's/.*: *"//; s/"$//')"
    tmp="$(mktemp -d)"
    for mode in own native; do
      extra=(); [ $mode = native ] && extra=(--set eval.short_side=-1 --set eval.batch_size=1)
      /usr/bin/time -f "  predict folder, $mode size: %e s wall, %M KB peak" \
        "$build/rgbdseg" predict --model tabletop --data "$cots" --out "$tmp/$mode" -q "${extra[@]}" >/dev/null
    done
    for run in 1 2; do
      /usr/bin/time -f "  predict one frame, native size: %e s wall, %M KB peak" \
        "$build/rgbdseg" predict --model tabletop --rgb "$dir/$first" --depth "$dir/$depth" --out "$tmp/one$run" -q \
        --set eval.short_side=-1 >/dev/null
    done
    rm -rf "$tmp"
  fi
done
