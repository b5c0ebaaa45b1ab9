#!/usr/bin/env bash
# Builds the web console into OUT_DIR (wiped first): index.html, app.<hash>.js, app.<hash>.css.
# Needs the npm registry only when node_modules is missing or older than package-lock.json.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: web/build.sh OUT_DIR" >&2
  exit 2
fi
out=$(realpath -m -- "$1")
cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  # No install scripts: esbuild's only checks its binary, which it finds without it.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
  touch node_modules
fi
node_modules/.bin/tsc --noEmit -p .
node build.mjs "$out"
