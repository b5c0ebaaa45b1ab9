#!/usr/bin/env bash
# The operator's end-to-end test (what CTest runs):
#
#   tests/k8s/operator/e2e.sh BIN_DIR TEST_BINARY [gtest flags...]
#
# BIN_DIR holds stego-operator and stego-worker (the build's bin/). Builds or reuses the control
# plane and the pod runner while the network is still there, then runs TEST_BINARY inside a
# private network namespace (../netns.sh) against a fresh control plane (../controlplane/run.sh);
# the test starts the pod runner and the operators itself. Every log goes to a temporary directory,
# removed after a success and kept (its path printed) after a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in ""|-h|--help) sed -n '2,10p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
bin_dir="$(cd "$1" && pwd)"; test_binary="$2"; shift 2
for b in stego-operator stego-worker; do
  [[ -x "$bin_dir/$b" ]] || { echo "operator/e2e: no $b in $bin_dir" >&2; exit 1; }
done

"$here/../controlplane/build.sh" >/dev/null
podrunner="$("$here/../podrunner/build.sh")/podrunner"
artifacts="$(mktemp -d "${TMPDIR:-/tmp}/stego-operator-e2e.XXXXXX")"
set +e
TMPDIR="$artifacts" "$here/../netns.sh" -- "$here/../controlplane/run.sh" -- \
  env PODRUNNER_BIN="$podrunner" STEGO_BIN_DIR="$bin_dir" "$test_binary" "$@"
rc=$?
set -e
if [[ $rc == 0 ]]; then rm -rf "$artifacts"; else echo "operator/e2e: kept $artifacts" >&2; fi
exit "$rc"
