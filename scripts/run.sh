#!/usr/bin/env bash
# The README's run command: build if needed, then start a 3-member cluster on 127.0.0.1 — HTTP API on
# 8081-8083, Raft peer ports on 5001-5003 (the prototype's ports) — with data under run/, logs in
# run/logs/. node1 bootstraps the cluster, node2 and node3 join it. Extra arguments go to every
# member (see `build/bin/stego-worker --help`). Ctrl-C stops them all gracefully.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh" stego-worker stegoctl console
run="$root/run"
mkdir -p "$run/logs"
secret_file() {  # a random secret kept in run/, so restarts keep working
  [[ -s "$run/$1" ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$run/$1"
  cat "$run/$1"
}
# Secrets travel by environment, not argv, so `ps` does not show them.
export STEGO_ADMIN_KEY=$(secret_file admin.key)
export STEGO_CLUSTER_SECRET=$(secret_file cluster.secret)
peers="node1=127.0.0.1:5001,node2=127.0.0.1:5002,node3=127.0.0.1:5003"

pids=()
stop() {
  trap - INT TERM
  echo "stopping the cluster..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  exit 0
}
trap stop INT TERM
for i in 1 2 3; do
  "$root/build/bin/stego-worker" --node-id "node$i" --http "127.0.0.1:808$i" --peer "127.0.0.1:500$i" \
    --peers "$peers" --data-dir "$run/node$i" "$@" >>"$run/logs/node$i.log" 2>&1 &
  pids+=($!)
done
cat <<EOM
stego-cluster: 3 members
  console    http://127.0.0.1:8081/  (in a browser; every member serves it)
  API        http://127.0.0.1:8081  http://127.0.0.1:8082  http://127.0.0.1:8083  (any member serves)
  who leads  curl -s http://127.0.0.1:8081/raft/status
  logs       $run/logs/node{1,2,3}.log      data  $run/node{1,2,3}
  admin key  $run/admin.key
Ctrl-C stops all three.
EOM
wait -n "${pids[@]}" || true
# One member exited on its own (a crash, or /admin/fail): say so and keep the others running until Ctrl-C.
echo "a member exited; see $run/logs/. The others keep running; Ctrl-C stops them." >&2
wait "${pids[@]}" || true
