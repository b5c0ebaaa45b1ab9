# shellcheck shell=bash disable=SC2034
# Shared settings for the test control plane scripts. Source it; do not run it.
#
# The pinned versions are read from the wrapper modules' go.mod files, which
# are the single source of truth:
#   tests/k8s/controlplane/go.mod       k8s.io/kubernetes (apiserver, controller-manager, kubectl)
#   tests/k8s/controlplane/etcd/go.mod  go.etcd.io/etcd/server/v3 (etcd)

K8S_RECIPE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Prints the version that go.mod file $1 requires of module $2.
k8s_required_version() {
  awk -v m="$2" '
    $1 == "require" && $2 == m && $3 ~ /^v/ { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}
K8S_VERSION="$(k8s_required_version "$K8S_RECIPE_DIR/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(k8s_required_version "$K8S_RECIPE_DIR/etcd/go.mod" go.etcd.io/etcd/server/v3)"
if [[ -z "$K8S_VERSION" || -z "$ETCD_VERSION" ]]; then
  echo "controlplane: cannot read pinned versions from $K8S_RECIPE_DIR/go.mod and etcd/go.mod" >&2
  return 1
fi

# Everything built or downloaded lives in one directory outside the repository,
# so a CI machine can cache exactly that directory:
#   bin/        kube-apiserver, kube-controller-manager, kubectl, etcd (+ .stamp)
#   go/pkg/mod  GOMODCACHE used for the build
#   go/cache    GOCACHE used for the build
# STEGO_K8S_CACHE overrides the location.
K8S_CACHE="${STEGO_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster/k8s-${K8S_VERSION}}"
K8S_BIN="$K8S_CACHE/bin"

# Heavy work runs at the lowest CPU and I/O priority: the machine is shared
# with benchmarks and CI.
K8S_NICE=(nice -n 19)
if command -v ionice >/dev/null 2>&1 && ionice -c3 true 2>/dev/null; then
  K8S_NICE+=(ionice -c3)
fi
