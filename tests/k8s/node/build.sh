#!/usr/bin/env bash
# Builds what the real test node needs beyond the control plane's binaries
# (kubelet, kube-proxy, kube-scheduler come from tests/k8s/controlplane/build.sh):
#
#   tests/k8s/node/build.sh          build if missing or stale (stamp files); print nothing
#
#   CoreDNS     from coredns/ (our main with only the plugins we use) through
#               the Go module proxy into ~/.cache/stego-cluster/coredns-<version>/
#               (bin/coredns, go/ module and build cache; STEGO_COREDNS_CACHE).
#   images      OCI archives in ~/.cache/stego-cluster/node-images/
#               (STEGO_NODE_IMAGES_CACHE): pause.tar, our static pause
#               program (pause/pause.c) as the pod sandbox image, and
#               busybox.tar, Debian's busybox-static, for tests.
#
# Needs go, gcc (static glibc), umoci and /bin/busybox (busybox-static);
# scripts/install-deps.sh installs them. One builder at a time per cache.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-}" in "") ;; -h|--help) sed -n '2,17p' "$0"; exit 0 ;; *) echo "node/build.sh: unknown argument: $1" >&2; exit 2 ;; esac
log() { echo "node/build: $*" >&2; }
export GOTOOLCHAIN=local

# ---------------------------------------------------------------- CoreDNS
coredns_stamp() {
  echo "coredns $COREDNS_VERSION"
  go version
  (cd "$NODE_DIR" && sha256sum coredns/go.mod coredns/go.sum coredns/main.go build.sh)
}
mkdir -p "$NODE_COREDNS_CACHE"
exec 8>"$NODE_COREDNS_CACHE/.build.lock"
flock 8
if [[ -x "$NODE_COREDNS_CACHE/bin/coredns" && "$(cat "$NODE_COREDNS_CACHE/bin/.stamp" 2>/dev/null)" == "$(coredns_stamp)" ]]; then
  log "up to date: CoreDNS $COREDNS_VERSION in $NODE_COREDNS_CACHE/bin"
else
  start=$SECONDS
  log "building CoreDNS $COREDNS_VERSION into $NODE_COREDNS_CACHE/bin"
  rm -rf "${NODE_COREDNS_CACHE:?}/bin"
  (cd "$NODE_DIR/coredns" && k8s_go_env "$NODE_COREDNS_CACHE" &&
    "${K8S_NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$NODE_COREDNS_CACHE/bin/coredns" .)
  coredns_stamp > "$NODE_COREDNS_CACHE/bin/.stamp"
  log "CoreDNS built in $((SECONDS - start)) s"
fi
exec 8>&-

# ---------------------------------------------------------------- images
images_stamp() {
  (cd "$NODE_DIR" && sha256sum pause/pause.c build.sh)
  sha256sum /bin/busybox
  gcc --version | head -n 1
  umoci --version
}
# make_image NAME FILE USER ENTRYPOINT... : an OCI archive of one layer made
# of the files in $rootfs (a scratch image), as root-less user USER.
make_image() {
  local name=$1 file=$2 user=$3; shift 3
  local layout="$work/$name" entrypoint
  entrypoint=$(printf -- '--config.entrypoint=%s ' "$@")
  umoci init --layout "$layout"
  umoci new --image "$layout:1"
  umoci unpack --image "$layout:1" "$work/bundle"
  cp -a "$rootfs/." "$work/bundle/rootfs/"
  umoci repack --image "$layout:1" "$work/bundle"
  # shellcheck disable=SC2086  # (one flag per entrypoint word)
  umoci config --image "$layout:1" --config.user "$user" $entrypoint
  umoci gc --layout "$layout"
  rm -rf "$work/bundle" "$rootfs"
  tar -C "$layout" -cf "$file" .
}
mkdir -p "$NODE_IMAGES_CACHE"
exec 8>"$NODE_IMAGES_CACHE/.build.lock"
flock 8
if [[ -s "$NODE_IMAGES_CACHE/pause.tar" && -s "$NODE_IMAGES_CACHE/busybox.tar" &&
      "$(cat "$NODE_IMAGES_CACHE/.stamp" 2>/dev/null)" == "$(images_stamp)" ]]; then
  log "up to date: images in $NODE_IMAGES_CACHE"
  exit 0
fi
work="$NODE_IMAGES_CACHE/work"
rm -rf "$work" "$NODE_IMAGES_CACHE/.stamp"
mkdir -p "$work"
rootfs="$work/rootfs"
mkdir -p "$rootfs"
gcc -static -O2 -Wall -Wextra -Werror -s -o "$rootfs/pause" "$NODE_DIR/pause/pause.c"
make_image pause "$NODE_IMAGES_CACHE/pause.tar" 65535:65535 /pause
mkdir -p "$rootfs/bin"
cp /bin/busybox "$rootfs/bin/busybox"
# The applets as links (sh, nc, wget, ...), so commands need no busybox prefix.
for applet in $("$rootfs/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
make_image busybox "$NODE_IMAGES_CACHE/busybox.tar" 65532:65532 /bin/sh
rm -rf "$work"
images_stamp > "$NODE_IMAGES_CACHE/.stamp"
log "images built in $NODE_IMAGES_CACHE: pause.tar ($NODE_PAUSE_IMAGE), busybox.tar ($NODE_BUSYBOX_IMAGE)"
