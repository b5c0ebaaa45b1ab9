#!/usr/bin/env bash
# End-to-end test of the pod runner on a real control plane (what CTest runs).
#
#   tests/k8s/podrunner/test.sh WORKER_BIN_DIR [go test flags...]
#
# WORKER_BIN_DIR holds the stego-worker binary (the build's bin/). Builds or
# reuses the control plane and the pod runner first, while the network is
# still there, then runs, in a private network namespace (tests/k8s/netns.sh),
# the control plane (controlplane/run.sh) with the test binary, which starts
# the pod runner itself. Logs go to a temporary directory, kept (and printed
# by the test) when it fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in ""|-h|--help) sed -n '2,11p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
worker_dir="$(cd "$1" && pwd)"; shift
[[ -x "$worker_dir/stego-worker" ]] || { echo "podrunner/test: no stego-worker in $worker_dir" >&2; exit 1; }

"$here/../controlplane/build.sh" >/dev/null
bin="$("$here/build.sh")"

artifacts="$(mktemp -d "${TMPDIR:-/tmp}/stego-podrunner-e2e.XXXXXX")"
start=$SECONDS
set +e
"$here/../netns.sh" -- "$here/../controlplane/run.sh" -- \
  env PODRUNNER_BIN="$bin/podrunner" STEGO_WORKER_DIR="$worker_dir" PODRUNNER_ARTIFACTS="$artifacts" \
  "$bin/podrunner-e2e.test" -test.v -test.timeout=240s "$@"
rc=$?
set -e
echo "podrunner/test: exit $rc after $((SECONDS - start)) s (control plane up and down included)" >&2
if [[ $rc == 0 ]]; then rm -rf "$artifacts"; else echo "podrunner/test: kept $artifacts" >&2; fi
exit "$rc"
