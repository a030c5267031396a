#!/usr/bin/env bash
# Fails (naming the file) if a torch-free folder includes torch, ATen or c10 headers.
# Debian puts those headers on the default include path, so the compiler would not catch it.
set -u
root=${1:-.}
status=0
for dir in src/rgbdseg/core src/rgbdseg/io src/rgbdseg/eval; do
  [ -d "$root/$dir" ] || continue
  while IFS= read -r hit; do
    echo "torch include in torch-free code: $hit"
    status=1
  done < <(grep -rnE '^\s*#\s*include\s*[<"](torch|ATen|c10)/' "$root/$dir" || true)
done
[ $status -eq 0 ] && echo "torch-free boundary: OK"
exit $status
