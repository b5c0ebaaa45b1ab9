#!/usr/bin/env bash
# Starts Traefik (build.sh's binary) as the Ingress controller of a test control plane, in the
# background, and waits until it is ready.
#
#   tests/ingress/traefik/up.sh DIR [HOST]
#
# DIR: the run directory (created; must hold no earlier run): traefik.yaml (the static
# configuration), logs/traefik.log, pids/traefik.pid (the leader of its process group), env.
# HOST: the address both entry points listen on (default 127.0.0.1), each on a port the kernel
# picks (never a fixed one): `web` for the Ingresses, `traefik` for /ping and /metrics.
# The Kubernetes Ingress provider reads $KUBECONFIG (controlplane/run.sh exports it) and routes the
# Ingresses of any IngressClass whose controller is traefik.io/ingress-controller, and those
# without a class. Prints (and writes to DIR/env) TRAEFIK_PID, TRAEFIK_WEB and TRAEFIK_PING
# (host:port). Stop it with tests/ingress/traefik/down.sh DIR.
#
# Environment: STEGO_K8S_READY_TIMEOUT=180  seconds to wait for readiness.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

case "${1:-}" in ""|-h|--help) sed -n '2,16p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
run_dir="$1"; host="${2:-127.0.0.1}"
log() { echo "traefik/up: $*" >&2; }
[[ -n "${KUBECONFIG:-}" ]] || { log "no KUBECONFIG (run inside tests/k8s/controlplane/run.sh)"; exit 1; }
[[ ! -e "$run_dir/pids/traefik.pid" ]] || { log "$run_dir already holds a run"; exit 1; }
bin="$("$here/build.sh")/traefik"  # (warm: only the stamp check, no network needed)
mkdir -p "$run_dir/logs" "$run_dir/pids"
run_dir="$(cd "$run_dir" && pwd)"

cat > "$run_dir/traefik.yaml" <<YAML
entryPoints:
  web: {address: "$host:0"}
  traefik: {address: "$host:0"}
ping: {entryPoint: traefik}
metrics: {prometheus: {entryPoint: traefik}}
# The web dashboard is empty in the module zip.
api: {dashboard: false}
providers:
  kubernetesIngress: {}
log: {level: INFO, filePath: "$run_dir/logs/traefik.log"}
global: {checkNewVersion: false, sendAnonymousUsage: false}
YAML

k8s_record traefik "$bin" --configFile="$run_dir/traefik.yaml"
k8s_spawn traefik
pid="$(cat "$run_dir/pids/traefik.pid")"

# The ports the kernel gave: the one answering /ping is `traefik`, the other `web`.
deadline=$((SECONDS + K8S_READY_TIMEOUT))
web="" ping=""
while [[ -z "$ping" || -z "$web" ]]; do
  k8s_alive traefik || { log "traefik exited (see $run_dir/logs/traefik.log)"; tail -n 20 "$run_dir/logs/traefik.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { log "traefik not ready within ${K8S_READY_TIMEOUT}s"; "$here/down.sh" "$run_dir"; exit 1; }
  web="" ping=""
  for port in $(ss -Htlnp | awk -v p="pid=$pid," 'index($0, p) { n = split($4, a, ":"); print a[n] }'); do
    if [[ "$(curl -s --max-time 5 "http://$host:$port/ping" || true)" == OK ]]; then ping="$host:$port"; else web="$host:$port"; fi
  done
  [[ -n "$ping" && -n "$web" ]] || sleep 0.2
done
printf 'TRAEFIK_PID=%s\nTRAEFIK_WEB=%s\nTRAEFIK_PING=%s\n' "$pid" "$web" "$ping" | tee "$run_dir/env"
log "ready: web on $web, ping and metrics on $ping, log $run_dir/logs/traefik.log"
