#!/usr/bin/env bash
# Stops a test control plane started by up.sh and removes its run directory.
#
#   tests/k8s/controlplane/down.sh [--keep] DIR
#
# Sends SIGTERM to each component's process group (controller-manager, then
# apiserver, then etcd), waits up to STEGO_K8S_STOP_TIMEOUT (default 15) s,
# then SIGKILL. Checks that no process of the run is left and that none of
# its ports is still listening. --keep leaves DIR (logs, certificates) in
# place. Safe to run twice and on a partly started run.
set -uo pipefail

keep=0
run_dir=""
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) run_dir="$arg" ;;
  esac
done
log() { echo "controlplane/down: $*" >&2; }
[[ -n "$run_dir" ]] || { log "usage: down.sh [--keep] DIR"; exit 2; }
[[ -d "$run_dir" ]] || { log "$run_dir: no such run directory (already down?)"; exit 0; }

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || true  # (the stop functions come first)
status=0

for name in kube-controller-manager kube-apiserver etcd; do
  k8s_stop "$name" || status=1
done

if [[ -s "$run_dir/ports" ]]; then
  read -r -a ports < "$run_dir/ports"
  for port in "${ports[@]}"; do
    # Listening sockets only; closed connections in TIME_WAIT hold no port.
    if [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]; then
      log "port $port is still listening"; status=1
    fi
  done
fi

if [[ $status == 0 && $keep == 0 ]]; then
  rm -rf "$run_dir"
elif [[ $status != 0 ]]; then
  log "left $run_dir in place for inspection"
fi
exit $status
