#!/usr/bin/env bash
# Runs a command in a new, private network namespace that has only loopback,
# with the pod runner's cluster DNS as its resolver.
#
#   tests/k8s/netns.sh -- COMMAND [ARGS...]
#
# Why: the API server refuses loopback (127.0.0.0/8) pod addresses in
# EndpointSlices. Inside a namespace of our own, the pod runner can give each
# pod an address such as 10.244.0.5 on lo without touching the machine's
# network, and the control plane, the pods and the test all reach each other
# there. Nothing inside reaches the outside network: download and build
# before (tests/k8s/podrunner/test.sh does).
#
# DNS: the namespace also gets a private mount namespace in which
# /etc/resolv.conf (or the file its symlink names) is replaced by
#   nameserver 10.244.0.1 / search cluster.local / options ndots:5 timeout:1 attempts:3
# the pod runner's cluster DNS with its defaults (node IP 10.244.0.1 of
# --pod-cidr 10.244.0.0/24, --cluster-domain cluster.local), so pods resolve
# <svc>.<ns>.svc as in a cluster. STEGO_PODRUNNER_CLUSTER_DNS=10.244.0.1:53
# is exported: a pod runner started inside serves it unless told otherwise.
#
# As root this is `unshare --net --mount`; otherwise an unprivileged user
# namespace (`--map-root-user`) is used, where the kernel allows it.
# Needs unshare and mount (util-linux) and ip (iproute2). Exits with
# COMMAND's status; the namespaces disappear with their last process.
set -euo pipefail

[[ "${1:-}" == "--" ]] && shift
case "${1:-}" in ""|-h|--help) sed -n '2,25p' "$0"; [[ $# -gt 0 ]]; exit ;; esac

for tool in unshare:util-linux mount:util-linux ip:iproute2; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || { echo "netns.sh: needs ${tool%%:*} (Debian package ${tool#*:})" >&2; exit 1; }
done
flags=(--net --mount --propagation private)
[[ $EUID == 0 ]] || flags+=(--map-root-user)
export STEGO_PODRUNNER_CLUSTER_DNS=10.244.0.1:53

# Inside: lo up, then the resolv.conf. Mounts follow a symlink, so the bind
# goes over the file /etc/resolv.conf names; when that file does not exist
# (a dangling symlink), a tmpfs over its directory holds it. The generated
# file is unlinked once mounted: the mount keeps it, nothing is left behind.
# shellcheck disable=SC2016
inside='
set -euo pipefail
ip link set lo up
conf="$(readlink -f /etc/resolv.conf)" || { echo "netns.sh: /etc/resolv.conf links to a missing directory" >&2; exit 1; }
[[ -e "$conf" ]] || mount -t tmpfs -o size=64k,mode=755 netns-resolv "$(dirname "$conf")"
[[ -e "$conf" ]] || touch "$conf"
file="$(mktemp "${TMPDIR:-/tmp}/netns-resolv.XXXXXX")"
printf "nameserver 10.244.0.1\nsearch cluster.local\noptions ndots:5 timeout:1 attempts:3\n" >"$file"
chmod 644 "$file"
mount --bind "$file" "$conf"
rm -f "$file"
exec "$@"
'
# unshare execs bash in the new namespace, and bash execs COMMAND: signals
# sent to this script's pid reach COMMAND itself.
exec unshare "${flags[@]}" -- bash -c "$inside" netns.sh "$@"
