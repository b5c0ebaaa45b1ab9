#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test suite through CTest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
# The pinned Kubernetes control plane and the test pod runner for the k8s-labelled tests, built
# into ~/.cache/stego-cluster (outside the repository): a no-op when cached; a cold build takes
# 7-20 min (docs/testing.md, "Upstream components and the cold cost of the test command").
bash "$root/tests/k8s/controlplane/build.sh" >/dev/null
bash "$root/tests/k8s/podrunner/build.sh" >/dev/null
# The real node's CoreDNS (Go module proxy) and its pause and busybox images, for the k8s-node
# tests; about 3-7 min cold.
bash "$root/tests/k8s/node/build.sh"
# helm v4.3.2 and kubeconform v0.8.0 (Go module proxy) and the v1.37 schemas (PyPI
# kubernetes-validate) for the helm-labelled tests, into the same cache; about 10 min cold.
bash "$root/tests/helm/build.sh" >/dev/null
# Traefik v3.7.13 (Go module proxy, our wrapper module) for the ingress-labelled tests, into the
# same cache; about 11 min cold.
bash "$root/tests/ingress/traefik/build.sh" >/dev/null
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" --timeout 900
