#!/usr/bin/env bash
# Fails (naming the file) if a torch-free folder includes torch, ATen or c10 headers, or
# rgbdseg's own torch folders (model/, infer/, train/, runtime/), which would pull them in.
# Debian puts those headers on the default include path, so the compiler would not catch it.
# The torch-free folders are the ones built into rgbdseg_core and rgbdseg_io (CMakeLists.txt).
set -u
root=${1:-.}
status=0
for dir in src/rgbdseg/core src/rgbdseg/io src/rgbdseg/coco src/rgbdseg/data src/rgbdseg/viz; do
  [ -d "$root/$dir" ] || continue
  while IFS= read -r hit; do
    echo "torch include in torch-free code: $hit"
    status=1
  done < <(grep -rnE '^\s*#\s*include\s*[<"]((torch|ATen|c10)/|rgbdseg/(model|infer|train|runtime)/)' "$root/$dir" || true)
done
[ $status -eq 0 ] && echo "torch-free boundary: OK"
exit $status
