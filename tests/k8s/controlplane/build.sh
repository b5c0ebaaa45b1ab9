#!/usr/bin/env bash
# Builds the pinned upstream control-plane binaries for tests from the Go
# module proxy into the cache directory (see lib.sh), or reuses them.
#
#   tests/k8s/controlplane/build.sh            build if missing or stale; print the bin dir
#   tests/k8s/controlplane/build.sh --force    rebuild even if the stamp matches
#   tests/k8s/controlplane/build.sh --prune    after building, drop the Go build cache
#                                              (keeps bin/ and the module cache)
#
# Builds kube-apiserver, kube-controller-manager and kubectl from
# k8s.io/kubernetes (and kubelet, kube-proxy, kube-scheduler for the real
# node of tests/k8s/node), and etcd from go.etcd.io/etcd/server/v3 (Debian bookworm's
# etcd-server 3.4 is older than Kubernetes accepts). Only go.mod/go.sum and
# this script live in the repository; sources and binaries stay in the cache.
# The build runs under nice/ionice; on the shared 2-core machine a cold build
# takes tens of minutes (see docs/testing.md).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

force=0
prune=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --prune) prune=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "controlplane/build: $*" >&2; }

export GOTOOLCHAIN=local
command -v go >/dev/null 2>&1 || { log "go is not installed (need Go >= the go line in $K8S_RECIPE_DIR/go.mod)"; exit 1; }

# The stamp names everything that decides the binaries' contents: the pinned
# module graphs, this script (flags, tags) and the Go toolchain.
stamp_text() {
  echo "kubernetes $K8S_VERSION"
  echo "etcd $ETCD_VERSION"
  go version
  (cd "$K8S_RECIPE_DIR" && sha256sum go.mod go.sum etcd/go.mod etcd/go.sum build.sh)
}

binaries=(kube-apiserver kube-controller-manager kubectl kubelet kube-proxy kube-scheduler etcd)

up_to_date() {
  [[ -f "$K8S_BIN/.stamp" ]] || return 1
  [[ "$(cat "$K8S_BIN/.stamp")" == "$(stamp_text)" ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x "$K8S_BIN/$b" ]] || return 1; done
}

mkdir -p "$K8S_CACHE"
# One builder at a time per cache (parallel test runs wait here).
exec 9>"$K8S_CACHE/.build.lock"
flock 9

if [[ $force == 0 ]] && up_to_date; then
  log "up to date: kubernetes $K8S_VERSION, etcd $ETCD_VERSION in $K8S_BIN"
  echo "$K8S_BIN"
  exit 0
fi

k8s_go_env "$K8S_CACHE"

tmp="$K8S_CACHE/bin.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"

# Same flags as upstream release builds of these binaries (hack/lib/golang.sh,
# hack/lib/version.sh): static, stripped, trimmed paths, version stamped.
k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
build_date="$(cd "$K8S_RECIPE_DIR" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes 2>/dev/null || echo 1970-01-01T00:00:00Z)"
k8s_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

start=$(date +%s)
log "building kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kubectl, kubelet, kube-proxy, kube-scheduler) into $K8S_BIN"
(cd "$K8S_RECIPE_DIR" && "${K8S_NICE[@]}" go build -trimpath -tags selinux,notest,grpcnotrace \
  -ldflags "$k8s_ldflags" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl \
  k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kube-proxy \
  k8s.io/kubernetes/cmd/kube-scheduler)
mid=$(date +%s)
log "kubernetes built in $((mid - start)) s"

log "building etcd $ETCD_VERSION"
(cd "$K8S_RECIPE_DIR/etcd" && "${K8S_NICE[@]}" go build -trimpath -ldflags "-s -w" \
  -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
end=$(date +%s)
log "etcd built in $((end - mid)) s"

for b in "${binaries[@]}"; do
  [[ -x "$tmp/$b" ]] || { log "missing $b after build"; exit 1; }
done
rm -rf "$K8S_BIN"
mv "$tmp" "$K8S_BIN"
stamp_text > "$K8S_BIN/.stamp"
log "done in $((end - start)) s: $K8S_BIN"

if [[ $prune == 1 ]]; then
  log "pruning Go build cache $GOCACHE"
  rm -rf "$GOCACHE"
fi
echo "$K8S_BIN"
