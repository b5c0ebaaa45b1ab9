#!/usr/bin/env bash
# Configures and builds one sanitizer tree (docs/testing.md, "Sanitizer builds"): only the named
# targets, so the tree costs the test binaries and the binaries they start, nothing else.
#   build.sh <source dir> <tree> <generator> <sanitizers> <target>...
set -euo pipefail
source_dir=$1 tree=$2 generator=$3 sanitizers=$4
shift 4
# STEGO_SANITIZE_TESTS=OFF: the tree must not define sanitizer trees of its own.
cmake -S "$source_dir" -B "$tree" -G "$generator" -DSTEGO_WERROR=ON -DSTEGO_SANITIZE="$sanitizers" \
      -DSTEGO_SANITIZE_TESTS=OFF -DSTEGO_BUILD_BENCH=OFF >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$tree" -j"$(nproc)" "${targets[@]}"
