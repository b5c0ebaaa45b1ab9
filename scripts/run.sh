#!/usr/bin/env bash
# The README's run command: build if needed, then serve the API from one worker on
# http://127.0.0.1:8081 with the built-in synthetic 1920x1080 cover. Extra arguments go to the worker
# (see `build/bin/stego-worker --help`). Ctrl-C stops it gracefully.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh" stego-worker
data="$root/run/node1"
mkdir -p "$data"
admin_key_file="$root/run/admin.key"
[[ -s "$admin_key_file" ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$admin_key_file"
echo "stego-worker: http://127.0.0.1:8081  (admin key in $admin_key_file, data in $data)"
# The admin key travels by environment, not argv, so `ps` does not show it.
STEGO_ADMIN_KEY=$(cat "$admin_key_file") exec "$root/build/bin/stego-worker" \
  --node-id node1 --http 127.0.0.1:8081 --data-dir "$data" "$@"
