#!/usr/bin/env bash
# Installs the Debian dependencies (idempotent) and builds into build/ (binaries in build/bin/).
# Arguments name the targets to build; without any, everything (tests and benchmarks included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DSTEGO_WERROR=ON >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$root/build" -j"$(nproc)" "${targets[@]}"
