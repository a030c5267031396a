#!/usr/bin/env bash
# Fuzzes the parsers of outside data with libFuzzer (clang, ASan + UBSan):
#   scripts/fuzz.sh [RUNS] [TARGET...]      (default: 1000000 runs; every target)
# Targets (fuzz/): rosbag, safetensors, rle, coco_json, mat_v5, nyuv2_mat,
# polygon, results_json, config, labelme. Builds build-fuzz/
# (torch-free libraries only, instrumented), seeds each corpus from the real
# files in ../shared (RGBDSEG_SHARED_DIR), runs RUNS executions per target and
# prints libFuzzer's last status line (executions, coverage); the full logs go
# to build-fuzz/logs/. FUZZ_MAX_SECONDS=S also stops each target after S
# seconds. A crash (or any UBSan report) stops the target with the reproducer
# in build-fuzz/crash-*; turn it into a test. Exit status 1 if any target crashed.
# Not part of CI (minutes per target).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-1000000}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rosbag safetensors rle coco_json mat_v5 nyuv2_mat polygon results_json config labelme)
shared="${RGBDSEG_SHARED_DIR:-$here/../shared}"
build="$here/build-fuzz"
CC=clang CXX=clang++ cmake -S "$here" -B "$build" -G Ninja -DRGBDSEG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRGBDSEG_USE_CCACHE=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null
seed() {  # seed TARGET FILES...
  local dir="$build/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/" || true; done
}
seed rosbag "$shared"/data/realsense/*.bag
seed safetensors $(find "$shared/golden" -name '*.safetensors' -size -512k 2>/dev/null | head -20)
seed coco_json $(find "$shared/golden" -name '*.json' -size -256k 2>/dev/null | head -40)
mkdir -p "$build/corpus/rle"
printf '\x04\x04' > "$build/corpus/rle/empty"
printf '\x04\x05%s' '3202' > "$build/corpus/rle/small"
printf '\x10\x10%s' '0`0Q1O1N2M3L4K5J6I7H8G9F:E;D<C=B>A?@' > "$build/corpus/rle/long"
seed mat_v5 "$shared"/data/nyuv2-samples/meta/*.mat
RGBDSEG_FUZZ_SEED_DIR="$build/corpus/nyuv2_mat" "$build/bin/fuzz_nyuv2_mat" >/dev/null 2>&1 || true
RGBDSEG_FUZZ_SEED_DIR="$build/corpus/labelme" "$build/bin/fuzz_labelme" >/dev/null 2>&1 || true
seed results_json $(find "$shared/golden" -name '*results*.json' -size -256k 2>/dev/null | head -20)
mkdir -p "$build/corpus/results_json"
printf '%s' '[{"image_id":1,"category_id":1,"score":0.9,"segmentation":{"size":[12,16],"counts":"e01;0`0"}},{"image_id":2,"category_id":3,"score":0.5,"bbox":[0,0,2,2]}]' \
  > "$build/corpus/results_json/small"
seed config "$here"/configs/*.json "$here"/configs/*/*.json
printf '{"train":{"lr":0.001}}\0train.max_steps=10\nmodel.variant=full\ndata.train=a.json' > "$build/corpus/config/with_set"
mkdir -p "$build/corpus/polygon"
printf '\x10\x10\x01\x02\x02\x0c\x02\x0c\x0c\x02\x0c\x7f\x04\x04\x08\x04\x08\x08' > "$build/corpus/polygon/two"
max_seconds="${FUZZ_MAX_SECONDS:-0}"  # also stop a target after this many seconds (0 = no limit)
mkdir -p "$build/logs"
status=0
for t in "${targets[@]}"; do
  max_len=4096
  [ "$t" = rosbag ] && max_len=65536
  [ "$t" = coco_json ] && max_len=16384
  [ "$t" = results_json ] && max_len=16384
  [ "$t" = nyuv2_mat ] && max_len=65536
  [ "$t" = polygon ] && max_len=1024  # outlines grow with the input: keep a run to minutes
  # libhdf5 (Debian's, not instrumented) leaks ~112 bytes in its own allocations
  # on some malformed files, and asks malloc for absurd sizes (a damaged size
  # field), which fails and which it then reports as an error (the tool gives one
  # line): for its target leaks are off and such a malloc returns NULL as in production.
  leaks=1 asan_options=
  [ "$t" = nyuv2_mat ] && leaks=0 asan_options=allocator_may_return_null=1:detect_leaks=0
  echo "== fuzz_$t: $runs runs (max_len $max_len${max_seconds:+, at most $max_seconds s})"
  # The whole log stays in build-fuzz/logs/; a crash leaves its input in build-fuzz/crash-*.
  if ! (cd "$build" && ASAN_OPTIONS="$asan_options" "./bin/fuzz_$t" -runs="$runs" -max_total_time="$max_seconds" -max_len=$max_len \
        -detect_leaks=$leaks -print_final_stats=1 "corpus/$t" > "logs/$t.log" 2>&1); then
    status=1
  fi
  grep -E '^#[0-9]+.*(DONE|INITED)|ERROR|SUMMARY|Test unit written|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
    "$build/logs/$t.log" | grep -v INITED | tail -n 8
done
exit $status
