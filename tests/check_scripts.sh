#!/usr/bin/env bash
# The shell scripts in scripts/ and bench/ parse, and cots_ablation.sh refuses bad input
# with a one-line error and exit status 2 before it trains anything.
set -uo pipefail
root=$1
fail=0
for s in "$root"/scripts/*.sh "$root"/bench/*.sh; do
  bash -n "$s" || { echo "FAIL: $s does not parse"; fail=1; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
expect_usage_error() { # description, expected message part, args...
  local what=$1 part=$2; shift 2
  local err rc
  err=$(RGBDSEG=/bin/false bash "$root/scripts/cots_ablation.sh" "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 2 ] || [[ "$err" != *"$part"* ]] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
    echo "FAIL: $what: exit $rc, stderr: $err"; fail=1
  fi
}
expect_usage_error "no jobs" "usage:" "$tmp"
expect_usage_error "missing inputs" "pool/annotations.json: not found" "$tmp" rgb_s0
expect_usage_error "from scratch, no jobs" "usage:" --from-scratch "$tmp"
expect_usage_error "from scratch, missing COTS split" "cots/train/annotations.json: not found" --from-scratch "$tmp" rgb_s0
for f in pool cots_all cots/train cots/val; do mkdir -p "$tmp/$f"; echo '{}' > "$tmp/$f/annotations.json"; done
expect_usage_error "unknown variant" "foo_s0: expected VARIANT_sSEED" "$tmp" foo_s0
expect_usage_error "seed not a number" "rgb_sx: the seed after _s must be a number" "$tmp" rgb_sx
expect_usage_error "from scratch, unknown variant" "foo_s1: expected VARIANT_sSEED" --from-scratch "$tmp" foo_s1
[ ! -e "$tmp/ablation/pt_foo_s0" ] && [ ! -e "$tmp/ablation/scratch_foo_s1" ] || { echo "FAIL: a bad job left a run folder"; fail=1; }
# bench/soak.sh refuses an unknown argument before it starts anything.
err=$(bash "$root/bench/soak.sh" --stepz 5 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ "$err" == *"unknown argument '--stepz'"* ]] || { echo "FAIL: soak.sh --stepz: exit $rc, $err"; fail=1; }
exit $fail
