#!/usr/bin/env bash
# Restarts the kube-apiserver of a running test control plane, as a control
# plane upgrade or crash would: same flags, port, certificates and etcd.
#
#   tests/k8s/controlplane/restart-apiserver.sh [RUN_DIR]    (default $STEGO_K8S_DIR)
#
# Stops the apiserver's process group like down.sh does (SIGTERM, SIGKILL after
# STEGO_K8S_STOP_TIMEOUT s), starts the command and environment that up.sh
# recorded in RUN_DIR/cmd/ again the way up.sh does (own session, same nice,
# log appended, pids/kube-apiserver.pid updated, so down.sh stops the new
# process), and waits for /readyz (STEGO_K8S_READY_TIMEOUT s). Exits non-zero
# if any step fails; the run is then left as it is for down.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

case "${1:-}" in -h|--help) sed -n '2,12p' "$0"; exit 0 ;; esac
run_dir="${1:-${STEGO_K8S_DIR:-}}"
log() { echo "controlplane/restart-apiserver: $*" >&2; }
[[ -n "$run_dir" ]] || { log "usage: restart-apiserver.sh RUN_DIR (or set STEGO_K8S_DIR)"; exit 2; }
run_dir="$(cd "$run_dir" && pwd)"
name=kube-apiserver
[[ -s "$run_dir/cmd/$name.args" && -s "$run_dir/ports" ]] ||
  { log "$run_dir has no recorded $name command (not started by this up.sh?)"; exit 1; }
k8s_alive "$name" || { log "$name of $run_dir is not running"; exit 1; }
read -r _ _ apiserver_port _ < "$run_dir/ports"
pki="$run_dir/pki"

started=$SECONDS
k8s_stop "$name"
# The old process is gone, so its listening socket is too; a port still in use
# means someone else took it, and the new apiserver could not bind.
if [[ -n "$(ss -Hltn "sport = :$apiserver_port" 2>/dev/null)" ]]; then
  log "port $apiserver_port is still listening after $name stopped"; exit 1
fi
echo "---- controlplane/restart-apiserver: restarting at $(date -u +%FT%TZ)" >> "$run_dir/logs/$name.log"
k8s_spawn "$name"
k8s_wait_for "$name" "https://127.0.0.1:$apiserver_port/readyz" \
  --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key"
log "$name restarted in $((SECONDS - started)) s"
