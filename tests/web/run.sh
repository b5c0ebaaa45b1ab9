#!/usr/bin/env bash
# The web console's browser test (what CTest runs):
#
#   tests/web/run.sh BIN_DIR CONSOLE_DIR [SCREENSHOT_DIR]
#
# Starts a 3-member cluster of BIN_DIR/stego-worker on loopback (free ports, a scratch directory)
# serving the console built into CONSOLE_DIR, waits until its members agree on a leader, and runs
# console.test.mjs (playwright-core driving Debian's Chromium) against it. With SCREENSHOT_DIR, the
# test saves a screenshot of each page there (scripts/console-screenshots.sh). The members' logs
# are printed after a failure. A member that loses its port to another process before binding it
# has the cluster started again on new ports (a few times).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in ""|-h|--help) sed -n '2,11p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
bin_dir="$(cd "$1" && pwd)"; console_dir="$(cd "$2" && pwd)"; screenshots="${3:-}"
log() { echo "web/run: $*" >&2; }

scratch="$(mktemp -d "${TMPDIR:-/tmp}/stego-console-test.XXXXXX")"
pids=()
stop() {
  ((${#pids[@]})) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
trap 'stop; rm -rf "$scratch"' EXIT
export STEGO_ADMIN_KEY="console-test-$$" STEGO_CLUSTER_SECRET="console-secret-$$"

# A member lost its port: the ports are picked free, then released for the members to bind, and
# another test's outgoing connection may take one in between ("Address already in use").
port_lost() {
  local i
  for i in 0 1 2; do
    kill -0 "${pids[i]}" 2>/dev/null || return 0
    grep -q "Address already in use" "$dir/node$((i + 1)).log" && return 0
  done
  return 1
}

# Starts the three members in $dir on six ports the kernel says are free now (each member's API
# and peer port) and waits until every one answers /readyz 200 (a voter that knows the leader and
# has applied the log). Returns 1 when a member lost its port or exited early.
start_cluster() {
  local ports peers i deadline
  read -r -a ports < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
  peers="node1=127.0.0.1:${ports[3]},node2=127.0.0.1:${ports[4]},node3=127.0.0.1:${ports[5]}"
  urls=()
  for i in 0 1 2; do
    "$bin_dir/stego-worker" --node-id "node$((i + 1))" --http "127.0.0.1:${ports[i]}" --peer "127.0.0.1:${ports[i + 3]}" \
      --peers "$peers" --data-dir "$dir/node$((i + 1))" --console-dir "$console_dir" --threads 2 \
      >"$dir/node$((i + 1)).log" 2>&1 &
    pids+=($!)
    urls+=("http://127.0.0.1:${ports[i]}")
  done
  deadline=$((SECONDS + 60))
  for i in 0 1 2; do
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${urls[i]}/readyz")" == 200 ]]; do
      port_lost && return 1
      ((SECONDS < deadline)) || { log "the cluster did not turn ready in 60 s"; tail -n 20 "$dir"/node*.log >&2; exit 1; }
      sleep 0.2
    done
  done
}

attempts=4
for ((attempt = 1; ; attempt++)); do
  dir="$scratch/attempt$attempt"
  mkdir -p "$dir"
  start_cluster && break
  stop
  if ((attempt == attempts)); then
    log "a member lost its port or exited early, $attempts times over"
    tail -n 20 "$dir"/node*.log >&2
    exit 1
  fi
  log "a member lost its port or exited early (attempt $attempt of $attempts): starting again on new ports"
done

rc=0
CONSOLE_URLS="$(IFS=,; echo "${urls[*]}")" ADMIN_KEY="$STEGO_ADMIN_KEY" SCREENSHOT_DIR="$screenshots" \
  node "$here/console.test.mjs" || rc=$?
if ((rc != 0)); then
  for f in "$dir"/node*.log; do log "--- $f"; tail -n 30 "$f" >&2; done
fi
exit "$rc"
