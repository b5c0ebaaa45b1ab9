#!/usr/bin/env bash
# Configures and builds one sanitizer tree (docs/testing.md, "Sanitizer builds"): only the named
# targets, so the tree costs the test binaries and the binaries they start, nothing else.
#   build.sh <source dir> <tree> <generator> <sanitizers> <target>...
set -euo pipefail
source_dir=$1 tree=$2 generator=$3 sanitizers=$4
shift 4
# STEGO_SANITIZE_TESTS=OFF: the tree must not define sanitizer trees of its own. PRE_TEST: no
# gtest discovery at build time; run.sh starts the binaries itself, and an instrumented binary
# listing its tests on a loaded machine overran discovery's 5 s timeout, failing the build.
cmake -S "$source_dir" -B "$tree" -G "$generator" -DSTEGO_WERROR=ON -DSTEGO_SANITIZE="$sanitizers" \
      -DSTEGO_SANITIZE_TESTS=OFF -DSTEGO_BUILD_BENCH=OFF \
      -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$tree" -j"$(nproc)" "${targets[@]}"
