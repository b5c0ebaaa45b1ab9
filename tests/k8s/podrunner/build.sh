#!/usr/bin/env bash
# Builds the test pod runner and its test binaries into the cache next to the
# control-plane binaries, or reuses them.
#
#   tests/k8s/podrunner/build.sh     build if missing or stale; print the bin dir
#
# Output: ${STEGO_K8S_CACHE:-~/.cache/stego-cluster/k8s-<version>}/podrunner/
#   podrunner             the pod runner
#   podrunner-e2e.test    the end-to-end test (go test -c ./e2e)
#   podrunner-unit.test   unit tests of its pure parts (go test -c .)
#   .stamp                Go version + hashes of every file of the module
# The module's dependencies come from the Go module proxy into the same module
# cache as the control plane's; the build shares its build cache too. Run it
# before entering a network namespace: there is no network inside.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../controlplane/lib.sh
source "$here/../controlplane/lib.sh"
case "${1:-}" in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; "") ;; *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;; esac

log() { echo "podrunner/build: $*" >&2; }
export GOTOOLCHAIN=local
command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }

out="$K8S_CACHE/podrunner"
# Every file of the module decides the binaries (this script included).
stamp_text() {
  go version
  (cd "$here" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh \) -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum)
}

mkdir -p "$K8S_CACHE"
exec 9>"$K8S_CACHE/.podrunner-build.lock"
flock 9
if [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$(stamp_text)" && -x "$out/podrunner" && -x "$out/podrunner-e2e.test" && -x "$out/podrunner-unit.test" ]]; then
  log "up to date: $out"
  echo "$out"
  exit 0
fi

# The control plane's settings and caches, so the shared client-go packages come from its build.
k8s_go_env "$K8S_CACHE"

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
start=$(date +%s)
log "building into $out"
(cd "$here" && "${K8S_NICE[@]}" go build -trimpath -o "$tmp/podrunner" . \
  && "${K8S_NICE[@]}" go test -c -trimpath -o "$tmp/podrunner-e2e.test" ./e2e \
  && "${K8S_NICE[@]}" go test -c -trimpath -o "$tmp/podrunner-unit.test" .)
stamp_text > "$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
log "done in $(($(date +%s) - start)) s"
echo "$out"
