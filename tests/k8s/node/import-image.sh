#!/usr/bin/env bash
# Imports an image archive into the real test node's containerd, where pods
# find it (nothing can be pulled there).
#
#   tests/k8s/node/import-image.sh FILE [REPOSITORY]
#
# FILE: an OCI archive (`buildah push IMAGE oci-archive:FILE`) or a docker
# archive. An OCI archive's index names only tags: with REPOSITORY its images
# are named REPOSITORY:TAG (e.g. localhost/stego-worker -> localhost/stego-worker:0.1.0).
# Needs STEGO_K8S_DIR (set by tests/k8s/controlplane/run.sh --node).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-}" in ""|-h|--help) sed -n '2,10p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
# shellcheck disable=SC2034  # (node_ctr's run directory)
run_dir="${STEGO_K8S_DIR:?run inside tests/k8s/controlplane/run.sh --node}"
node_import_image "$@"
