#!/usr/bin/env bash
# Runs a command in a new, private network namespace that has only loopback.
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
# As root this is `unshare --net`; otherwise an unprivileged user namespace
# (`unshare --net --map-root-user`) is used, where the kernel allows it.
# Needs unshare (util-linux) and ip (iproute2). Exits with COMMAND's status;
# the namespace disappears with its last process.
set -euo pipefail

[[ "${1:-}" == "--" ]] && shift
case "${1:-}" in ""|-h|--help) sed -n '2,16p' "$0"; [[ $# -gt 0 ]]; exit ;; esac

for tool in unshare:util-linux ip:iproute2; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || { echo "netns.sh: needs ${tool%%:*} (Debian package ${tool#*:})" >&2; exit 1; }
done
flags=(--net)
[[ $EUID == 0 ]] || flags+=(--map-root-user)
# unshare execs bash in the new namespace, and bash execs COMMAND: signals
# sent to this script's pid reach COMMAND itself.
exec unshare "${flags[@]}" -- bash -c 'ip link set lo up && exec "$@"' netns.sh "$@"
