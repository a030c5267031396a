#!/usr/bin/env bash
# COCO mask evaluation benchmark: `rgbdseg cocoeval` end to end (fresh process
# per run, as the pycocotools figures in ../shared/golden/cocoeval/README.md
# were taken) against a straightforward single-threaded baseline of our own
# (bench/naive_coco_eval.cpp), measured in the same run, on eval_medium and on
# a generated set 10x its size. Stats must agree; prints a markdown table.
#
#   bash bench/coco_eval.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RGBDSEG_SHARED_DIR:-$root/../shared}
tool=$build/bin/rgbdseg
bench=$build/bin/bench_coco_eval
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { echo "$EPOCHREALTIME"; }  # bash 5: no subprocess, so no timer overhead
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Wall time of a command, median of $runs fresh processes; its stdout of the last run goes to $2.
time_runs() {
  local out=$1; shift
  for _ in $(seq "$runs"); do
    local t0=$EPOCHREALTIME
    "$@" > "$out"
    local t1=$EPOCHREALTIME
    echo "$t1 - $t0" | bc -l
  done | median
}

sets=()
if [ -f "$shared/golden/cocoeval/eval_medium/gt.json" ]; then
  sets+=("eval_medium|$shared/golden/cocoeval/eval_medium")
else
  echo "note: $shared/golden/cocoeval/eval_medium not found; only the generated set is measured" >&2
fi
"$bench" generate "$work/large" --images 2000 --seed 7 > "$work/large.info"
sets+=("generated 2000 images|$work/large")

echo "| data set | images | GT | results | rgbdseg cocoeval (2 threads) | rgbdseg cocoeval (1 thread) | naive baseline (1 thread) | speed-up vs baseline | max abs stats diff |"
echo "|---|---|---|---|---|---|---|---|---|"
for entry in "${sets[@]}"; do
  name=${entry%%|*}; dir=${entry#*|}
  counts=$(python3 -c "import json,sys; g=json.load(open('$dir/gt.json')); d=json.load(open('$dir/results.json')); print(len(g['images']), len(g['annotations']), len(d))")
  read -r n_img n_gt n_dt <<< "$counts"
  t2=$(time_runs "$work/ours.json" "$tool" cocoeval --gt "$dir/gt.json" --dt "$dir/results.json" --json - --threads 2 -q)
  t1=$(time_runs "$work/ours1.json" "$tool" cocoeval --gt "$dir/gt.json" --dt "$dir/results.json" --json - --threads 1 -q)
  tb=$(time_runs "$work/base.json" "$bench" baseline "$dir/gt.json" "$dir/results.json")
  diff=$(python3 -c "
import json
a=json.load(open('$work/ours.json'))['stats']; a1=json.load(open('$work/ours1.json'))['stats']; b=json.load(open('$work/base.json'))['stats']
print('%.1e' % max(max(abs(x-y) for x,y in zip(a,b)), max(abs(x-y) for x,y in zip(a,a1))))")
  speedup=$(echo "$tb / $t2" | bc -l)
  printf "| %s | %s | %s | %s | %.3f s | %.3f s | %.3f s | %.1fx | %s |\n" "$name" "$n_img" "$n_gt" "$n_dt" "$t2" "$t1" "$tb" "$speedup" "$diff"
done 2> >(grep -v "^ Average" >&2)
