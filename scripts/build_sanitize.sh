#!/usr/bin/env bash
# Builds the torch-free libraries and their tests under AddressSanitizer +
# UndefinedBehaviorSanitizer into ./build-asan (gcc, 2 jobs); run them with
#   ctest --test-dir build-asan --output-on-failure -j2
# .ci/run does both after the main tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DRGBDSEG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j2
