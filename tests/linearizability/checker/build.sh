#!/usr/bin/env bash
# Builds lincheck (Porcupine from the Go module proxy, and our models) and its unit tests into the
# cache outside the repository, or reuses them; prints the directory.
#
# Output: ${STEGO_CACHE:-~/.cache/stego-cluster}/lincheck/
#   lincheck             the checker (main.go)
#   lincheck-unit.test   the models' tests (go test -c)
#   .stamp               Go version + hashes of every file of the module
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${STEGO_CACHE:-$HOME/.cache/stego-cluster}/lincheck"
export GOTOOLCHAIN=local
command -v go >/dev/null 2>&1 || { echo "lincheck/build: go is not installed" >&2; exit 1; }

stamp_text() {
  go version
  (cd "$here" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh \) -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum)
}

mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$(stamp_text)" && -x "$out/lincheck" && -x "$out/lincheck-unit.test" ]]; then
  echo "$out"
  exit 0
fi
tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
(cd "$here" && go build -trimpath -o "$tmp/lincheck" . && go test -c -trimpath -o "$tmp/lincheck-unit.test" .) >&2
stamp_text > "$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "$out"
