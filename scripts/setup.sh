#!/usr/bin/env bash
# Installs rgbdseg's build and run dependencies from Debian packages.
# Idempotent; run as root (or with sudo). Safe to run again after an upgrade.
set -euo pipefail

packages=(
  # build tools
  cmake ninja-build g++ pkg-config ccache
  # LibTorch (CPU) and its distributed backend headers
  libtorch-dev libgloo-dev
  # fast BLAS: libtorch links the generic libblas.so.3; this takes over the alternative
  libopenblas0-openmp
  # images, JSON (simdjson: fast COCO file loading), command line, HDF5 (NYUv2 .mat v7.3)
  libopencv-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev libhdf5-dev zlib1g-dev
  # RealSense .bag recordings: LZ4-framed chunks
  liblz4-dev
  # tests and benchmarks (python3-rosbag: an independent reader our .bag tests cross-check against)
  libgtest-dev libgmock-dev libbenchmark-dev python3-rosbag
)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "$@"; fi
  echo "setup.sh: error: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${#missing[@]} package(s): ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup.sh: all packages already installed" >&2
fi

# Make OpenBLAS the active BLAS/LAPACK (the reference BLAS is ~35x slower).
for lib in libblas.so.3 liblapack.so.3; do
  target=$(update-alternatives --list "${lib}-x86_64-linux-gnu" 2>/dev/null | grep openblas | head -n1 || true)
  if [ -n "$target" ]; then
    update-alternatives --quiet --set "${lib}-x86_64-linux-gnu" "$target"
  fi
done
echo "setup.sh: BLAS -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)" >&2
