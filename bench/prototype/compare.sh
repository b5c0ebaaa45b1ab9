#!/usr/bin/env bash
# Side by side with the earlier Rust prototype (elbarbary/phase1-steg-cluster).
#
#   bash bench/prototype/compare.sh PROTOTYPE [compare.py options, e.g. --rounds 5 --no-docs]
#
# PROTOTYPE is a checkout of the prototype's public source, or a git repository (bare or not) whose
# HEAD is extracted into the cache. Builds its server and loadgen with cargo into a cache outside
# this repository ($STEGO_CACHE, default ~/.cache/stego-cluster), builds our stego-worker and
# embed_load, then runs compare.py beside this script: both servers on the same cover and secrets,
# interleaved, and the table into docs/benchmarks.md. Nothing of the prototype enters the
# repository. docs/benchmarks.md, "Side by side with the prototype", has the recipe and what bounds
# the figures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 PROTOTYPE_CHECKOUT_OR_GIT_REPO [compare.py options]" >&2; exit 2; }
prototype=$(cd "$1" && pwd) || { echo "compare.sh: no such directory: $1" >&2; exit 2; }
shift

cache=${STEGO_CACHE:-$HOME/.cache/stego-cluster}
export CARGO_TARGET_DIR=$cache/prototype-target
mkdir -p "$cache"

# The source to build: the checkout itself, or HEAD of the repository extracted once into the cache
# (another run may have extracted it already: then that copy is used).
if [[ -f $prototype/Cargo.toml ]]; then
  src=$prototype
  commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
elif git -C "$prototype" rev-parse --git-dir >/dev/null 2>&1; then
  src=$cache/prototype-src
  commit=$(git -C "$prototype" rev-parse HEAD)
  if [[ ! -d $src ]]; then
    tmp=$(mktemp -d "$cache/prototype-src.XXXXXX")
    git -C "$prototype" archive HEAD | tar -x -C "$tmp"
    echo "$commit" >"$tmp/.prototype-commit"
    mv -T "$tmp" "$src" 2>/dev/null || rm -rf "$tmp"  # lost a race: the other copy is as good
  fi
  if [[ -f $src/.prototype-commit && $(cat "$src/.prototype-commit") != "$commit" ]]; then
    echo "compare.sh: $src holds commit $(cat "$src/.prototype-commit"), not $commit; remove it to re-extract" >&2
    exit 1
  fi
else
  echo "compare.sh: $prototype is neither a checkout (no Cargo.toml) nor a git repository" >&2
  exit 2
fi

# Cargo takes a lock on the target directory: a build already running there (another run, another
# helper) is waited for. Cold, this is the long part (RocksDB in C++ for its Raft storage); warm, a
# second. Niced, and one job unless CARGO_BUILD_JOBS says otherwise, to leave the cores to others.
echo "compare.sh: building the prototype's server and loadgen in $CARGO_TARGET_DIR" >&2
(cd "$src" && nice -n 10 cargo build --release -j "${CARGO_BUILD_JOBS:-1}" -p server -p loadgen)

echo "compare.sh: building stego-worker and embed_load" >&2
bash "$root/scripts/build.sh" stego-worker embed_load

exec python3 "$here/compare.py" \
  --prototype-server "$CARGO_TARGET_DIR/release/server" \
  --prototype-loadgen "$CARGO_TARGET_DIR/release/phase1-loadgen" \
  --prototype-lock "$src/Cargo.lock" \
  --prototype-commit "$commit" \
  --worker "$root/build/bin/stego-worker" \
  --embed-load "$root/build/bin/embed_load" \
  --docs "$root/docs/benchmarks.md" \
  --command "bash bench/prototype/compare.sh PROTOTYPE${*:+ $*}" \
  "$@"
