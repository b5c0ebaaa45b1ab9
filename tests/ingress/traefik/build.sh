#!/usr/bin/env bash
# Builds the pinned upstream Traefik (the Ingress controller of the tests) from the Go module proxy
# into the cache outside the repository, or reuses it.
#
#   tests/ingress/traefik/build.sh            build if missing or stale; print the bin dir
#   tests/ingress/traefik/build.sh --force    rebuild even if the stamp matches
#
# github.com/traefik/traefik/v3 does not build as published; go.mod says what our wrapper module
# replaces and why. The build happens in a copy of the wrapper in $TRAEFIK_CACHE/src, next to a
# copy of lego taken from the module cache with its DNS-provider list swapped for stubs/_lego (go
# -overlay refuses files in the module cache), so nothing is written into the repository. The Go
# module and build caches are the control plane's (tests/k8s/controlplane/lib.sh): one directory
# for CI to cache. Cold: about 10 minutes on the busy 2-core machine (see docs/testing.md).
# Run it before entering a network namespace: there is no network inside.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

force=0
case "${1:-}" in --force) force=1 ;; -h|--help) sed -n '2,14p' "$0"; exit 0 ;; "") ;; *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;; esac

log() { echo "traefik/build: $*" >&2; }
export GOTOOLCHAIN=local
command -v go >/dev/null 2>&1 || { log "go is not installed (need Go >= the go line in $TRAEFIK_RECIPE_DIR/go.mod)"; exit 1; }

# Everything that decides the binary: the module graph, our stubs, this script, the toolchain.
stamp_text() {
  echo "traefik $TRAEFIK_VERSION lego $LEGO_VERSION"
  go version
  (cd "$TRAEFIK_RECIPE_DIR" && find go.mod go.sum build.sh stubs -type f -print0 | sort -z | xargs -0 sha256sum)
}

mkdir -p "$TRAEFIK_CACHE"
# One builder at a time per cache (parallel test runs wait here).
exec 9>"$TRAEFIK_CACHE/.build.lock"
flock 9

if [[ $force == 0 && -x "$TRAEFIK_BIN/traefik" && -f "$TRAEFIK_BIN/.stamp" &&
      "$(cat "$TRAEFIK_BIN/.stamp")" == "$(stamp_text)" ]]; then
  log "up to date: traefik $TRAEFIK_VERSION in $TRAEFIK_BIN"
  echo "$TRAEFIK_BIN"
  exit 0
fi

k8s_go_env "$K8S_CACHE"

start=$(date +%s)
src="$TRAEFIK_CACHE/src"
rm -rf "$src"
mkdir -p "$src"
(cd "$TRAEFIK_RECIPE_DIR" && cp -r go.mod go.sum stubs "$src/")
# Outside any module, so the download is checked against the checksum database.
lego_dir="$(cd "$TRAEFIK_CACHE" && go mod download -json "github.com/go-acme/lego/v5@$LEGO_VERSION" |
            sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$lego_dir" ]] || { log "lego $LEGO_VERSION is not in the module cache"; exit 1; }
cp -r "$lego_dir" "$src/lego"
chmod -R u+w "$src/lego"
cp -r "$src/stubs/_lego/." "$src/lego/"
# The generated list's test names every provider.
rm -f "$src/lego/providers/dns/dns_providers_test.go"

# Upstream's release flags (Makefile, script/crossbinary-default.sh): static, stripped, stamped
# with the version, the codename of its release workflow and the module's date.
traefik_dir="$(cd "$src" && go list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)"
codename="$(sed -n 's/^ *CODENAME: *//p' "$traefik_dir/.github/workflows/release.yaml" 2>/dev/null || true)"
build_date="$(cd "$src" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' github.com/traefik/traefik/v3)"
pkg=github.com/traefik/traefik/v3/pkg/version
log "building traefik $TRAEFIK_VERSION into $TRAEFIK_BIN (cold: about 10 minutes)"
rm -rf "$TRAEFIK_CACHE/bin.tmp"
(cd "$src" && "${K8S_NICE[@]}" go build -trimpath \
  -ldflags "-s -w -X $pkg.Version=$TRAEFIK_VERSION -X $pkg.Codename=${codename:-cheddar} -X $pkg.BuildDate=$build_date" \
  -o "$TRAEFIK_CACHE/bin.tmp/traefik" github.com/traefik/traefik/v3/cmd/traefik)
rm -rf "$TRAEFIK_BIN"
mv "$TRAEFIK_CACHE/bin.tmp" "$TRAEFIK_BIN"
stamp_text > "$TRAEFIK_BIN/.stamp"
log "done in $(($(date +%s) - start)) s: $("$TRAEFIK_BIN/traefik" version | head -1)"
echo "$TRAEFIK_BIN"
