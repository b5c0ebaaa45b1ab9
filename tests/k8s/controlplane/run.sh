#!/usr/bin/env bash
# Starts a test control plane, runs a command against it, and always tears it
# down (also when the command fails or the script is interrupted).
#
#   tests/k8s/controlplane/run.sh -- COMMAND [ARGS...]
#       runs COMMAND with KUBECONFIG, STEGO_K8S_DIR, K8S_APISERVER, ... set
#       (see up.sh's env file) and PATH starting with the cached kubectl;
#       exits with COMMAND's status.
#   tests/k8s/controlplane/run.sh
#       for a person: starts it, prints how to use it, and keeps it up until
#       Ctrl-C.
#
#   tests/k8s/controlplane/run.sh --node [-- COMMAND [ARGS...]]
#       the same plus a real node (tests/k8s/node/up.sh: containerd,
#       kubelet, scheduler, kube-proxy, CoreDNS), Ready before COMMAND runs;
#       the API server then serves at the node IP. Root, inside
#       tests/k8s/netns.sh only.
#
# The run directory is removed afterwards, except when COMMAND failed
# (or STEGO_K8S_KEEP=1): then it is kept and its path printed, for the logs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$(cd "$here/../node" && pwd)"
with_node=0
[[ "${1:-}" == "--node" ]] && { with_node=1; shift; }
[[ "${1:-}" == "--" ]] && shift
case "${1:-}" in -h|--help) sed -n '2,19p' "$0"; exit 0 ;; esac

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/stego-k8s.XXXXXX")"
rc=0
child=""
# Children run in the background and are waited for, so that a SIGTERM or
# SIGINT to this script is handled at once (bash defers traps while a
# foreground child runs); their stdin stays ours.
exec 3<&0
run_child() {
  "$@" <&3 3<&- &
  child=$!
  echo "$child" > "$run_dir/child.pid"
  wait "$child"
}

teardown() {
  trap - EXIT INT TERM
  set +e
  [[ -s "$run_dir/watchdog.pid" ]] && kill -TERM -- "-$(cat "$run_dir/watchdog.pid")" 2>/dev/null
  # In person mode Ctrl-C is the normal way out.
  [[ $interactive == 1 && ( $rc == 130 || $rc == 143 ) ]] && rc=0
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  if [[ $with_node == 1 ]]; then
    "$node_dir/down.sh" "$run_dir" || rc=1
  fi
  if [[ $rc != 0 || "${STEGO_K8S_KEEP:-0}" == 1 ]]; then
    "$here/down.sh" --keep "$run_dir" || true
    echo "controlplane/run: kept $run_dir (logs in $run_dir/logs)" >&2
  else
    "$here/down.sh" "$run_dir" || rc=1
  fi
  # (after the API server, which serves at the bridge's address)
  [[ $with_node == 0 ]] || node_net_down
  exit "$rc"
}
trap 'rc=$?; teardown' EXIT
trap 'rc=130; teardown' INT
trap 'rc=143; teardown' TERM

interactive=0
[[ $# -gt 0 ]] || interactive=1

# A watchdog in its own session tears the run down if this script dies
# without running its traps (SIGKILL, e.g. a test runner's timeout).
# shellcheck disable=SC2016
setsid bash -c '
  echo $$ > "$1/watchdog.pid"
  while kill -0 "$2" 2>/dev/null; do sleep 1; done
  child=$(cat "$1/child.pid" 2>/dev/null) && kill -TERM "$child" 2>/dev/null
  up=$(cat "$1/up.pid" 2>/dev/null) && kill -TERM "$up" 2>/dev/null && sleep 3
  [[ -z "$4" ]] || "$4" "$1"
  exec "$3" --keep "$1"' _ "$run_dir" $$ "$here/down.sh" "$([[ $with_node == 0 ]] || echo "$node_dir/down.sh")" \
  </dev/null >/dev/null 2>&1 &

if [[ $with_node == 1 ]]; then
  # shellcheck source=../node/lib.sh
  source "$node_dir/lib.sh"
  node_net_up
  export STEGO_K8S_APISERVER_IP="$NODE_IP"
fi
run_child "$here/up.sh" --dir "$run_dir" >/dev/null
child=""
[[ $with_node == 0 ]] || { run_child "$node_dir/up.sh" --dir "$run_dir"; child=""; }
# shellcheck disable=SC1091
source "$run_dir/env"
export PATH="$STEGO_K8S_BIN:$PATH"

if [[ $# -gt 0 ]]; then
  set +e
  run_child "$@"
  rc=$?
  set -e
  child=""
  exit "$rc"
fi

echo "controlplane/run: up; press Ctrl-C to stop and clean up" >&2
while :; do sleep 3600 & child=$!; wait "$child"; done
