#!/usr/bin/env bash
# Stops the Traefik that up.sh started in DIR: SIGTERM to its process group, SIGKILL after
# STEGO_K8S_STOP_TIMEOUT (default 15) s. Keeps DIR (its log). Safe to run twice.
#
#   tests/ingress/traefik/down.sh DIR
set -euo pipefail

case "${1:-}" in ""|-h|--help) sed -n '2,5p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
run_dir="$1"
log() { echo "traefik/down: $*" >&2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
k8s_stop traefik
