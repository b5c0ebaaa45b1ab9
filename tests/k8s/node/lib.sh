# shellcheck shell=bash disable=SC2034,SC2154  # (settings for the scripts that source this; run_dir is theirs)
# Shared settings of the real test node (tests/k8s/node). Source it; do not run it.
# It sources the control plane's lib.sh, for K8S_BIN, K8S_NICE and the
# component helpers (k8s_record, k8s_spawn, k8s_stop, ...).

NODE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../controlplane/lib.sh
source "$NODE_DIR/../controlplane/lib.sh"

# ---------------------------------------------------------------- network
# The node's own address, on the pods' bridge: pods reach the node (API
# server, CoreDNS, kubelet) at NODE_IP through their default route, and the
# namespace's host side reaches every pod IP through the bridge's subnet.
# 10.244.1.0/24 keeps clear of the pod runner's 10.244.0.0/24 (DNS 10.244.0.1).
NODE_NAME=stego-node
NODE_BRIDGE=stego-br0
NODE_IP=10.244.1.1
NODE_POD_CIDR=10.244.1.0/24
NODE_CLUSTER_DOMAIN=cluster.local

# ---------------------------------------------------------------- caches
# CoreDNS is built from its own wrapper module (coredns/go.mod); the images
# (pause, busybox) are made from our pause.c and Debian's busybox-static.
COREDNS_VERSION="$(k8s_required_version "$NODE_DIR/coredns/go.mod" github.com/coredns/coredns)"
NODE_COREDNS_CACHE="${STEGO_COREDNS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster/coredns-${COREDNS_VERSION}}"
NODE_IMAGES_CACHE="${STEGO_NODE_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster/node-images}"
NODE_PAUSE_IMAGE=localhost/stego-pause:1
NODE_BUSYBOX_IMAGE=localhost/stego-busybox:1

NODE_SERVICE_CIDR=10.96.0.0/16  # (the control plane's)

# node_net_up: the bridge with the node IP. Before the control plane starts,
# since the API server binds that address. The route to the ClusterIPs lets
# the host side (tests) use Services too: kube-proxy's rules rewrite them,
# but only for packets that have a route (the namespace has no default one).
node_net_up() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
  ip addr replace "$NODE_IP/${NODE_POD_CIDR#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  ip route replace "$NODE_SERVICE_CIDR" dev "$NODE_BRIDGE" src "$NODE_IP"
}
node_net_down() { ip link del "$NODE_BRIDGE" 2>/dev/null || true; }

# node_ctr ARGS... : ctr against the run's containerd, in the CRI's namespace.
node_ctr() { ctr --address "$run_dir/node/containerd/containerd.sock" --namespace k8s.io "$@"; }

# node_import_image FILE [REPOSITORY] : an OCI or docker archive into the
# node's containerd (nothing can be pulled: pods use imagePullPolicy Never or
# IfNotPresent with imported images). An OCI archive's index names only tags
# (org.opencontainers.image.ref.name); REPOSITORY makes them REPOSITORY:TAG.
node_import_image() {
  local base=()
  [[ -z "${2:-}" ]] || base=(--base-name "$2")
  node_ctr images import "${base[@]}" "$1" >&2
}

# node_sandbox_netns : the network namespace files of the run's pod sandboxes
# (under /var/run/netns: on the machine's filesystem, not in the run
# directory), one a line.
node_sandbox_netns() {
  local id
  for id in $(node_ctr containers list --quiet 2>/dev/null); do
    node_ctr containers info "$id" 2>/dev/null | python3 -c 'import json, sys
for ns in json.load(sys.stdin).get("Spec", {}).get("linux", {}).get("namespaces", []):
    if ns.get("type") == "network" and ns.get("path"): print(ns["path"])'
  done
}
