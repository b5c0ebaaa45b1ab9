#!/usr/bin/env bash
# Builds the chart tools for tests into the cache outside the repository, or reuses them:
#   helm        v4.3.2  (helm.sh/helm/v4/cmd/helm, from the Go module proxy)
#   kubeconform v0.8.0  (github.com/yannh/kubeconform/cmd/kubeconform)
#   the Kubernetes v1.37 standalone-strict JSON schemas for kubeconform, generated from the
#   OpenAPI schemas bundled in the PyPI package kubernetes-validate 1.37.0 (no network at test time)
#
#   tests/helm/build.sh            build if missing or stale; print the helm binary's path
#   tests/helm/build.sh --force    rebuild even if the stamps match
#
# Output: ${XDG_CACHE_HOME:-~/.cache}/stego-cluster/ (override: STEGO_HELM_CACHE)
#   helm-v4.3.2/helm, kubeconform-v0.8.0/kubeconform, kubeconform-v0.8.0/schemas/v1.37.0-standalone-strict/
# The Go module and build caches are the control plane's (tests/k8s/controlplane/lib.sh), so the
# client-go packages Helm shares with it are built once and CI caches one directory.
# Run it before entering a network namespace: there is no network inside.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../k8s/controlplane/lib.sh
source "$here/../k8s/controlplane/lib.sh"

# shellcheck source=lib.sh
source "$here/lib.sh"

force=0
case "${1:-}" in --force) force=1 ;; -h|--help) sed -n '2,15p' "$0"; exit 0 ;; "") ;; *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;; esac

log() { echo "helm/build: $*" >&2; }
export GOTOOLCHAIN=local
command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }

root="$HELM_TOOLS"
helm_dir="$(dirname "$HELM_BIN")"
kc_dir="$(dirname "$KUBECONFORM_BIN")"
schema_dir="$KUBECONFORM_SCHEMAS/$SCHEMA_K8S_VERSION-standalone-strict"
mkdir -p "$root" "$helm_dir" "$kc_dir"
exec 9>"$root/.helm-build.lock"
flock 9

k8s_go_env "$K8S_CACHE"

# stamp FILE TEXT: true when FILE holds TEXT
stamped() { [[ $force == 0 && -f "$1" && "$(cat "$1")" == "$2" ]]; }

# go_tool NAME DIR PACKAGE@VERSION LDFLAGS: go install of one tool into DIR/NAME, unless DIR/.stamp
# (the version, the toolchain and the flags: what decides the binary) says it is there already.
go_tool() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4 stamp start
  stamp="$pkg
$(go version)
-trimpath CGO_ENABLED=0 $ldflags"
  if stamped "$dir/.stamp" "$stamp" && [[ -x "$dir/$name" ]]; then
    log "up to date: $dir/$name"
    return
  fi
  start=$(date +%s)
  log "building $pkg into $dir (cold: minutes)"
  rm -rf "$dir/bin.tmp"
  # go install PACKAGE@VERSION ignores any go.mod around; -mod=mod as Helm's module needs it.
  GOBIN="$dir/bin.tmp" GOFLAGS="-modcacherw -mod=mod -buildvcs=false" "${K8S_NICE[@]}" \
    go install -trimpath -ldflags "$ldflags" "$pkg"
  mv -f "$dir/bin.tmp/$name" "$dir/$name"
  rmdir "$dir/bin.tmp"
  echo "$stamp" > "$dir/.stamp"
  log "$name built in $(($(date +%s) - start)) s"
}

go_tool helm "$helm_dir" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
  "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
go_tool kubeconform "$kc_dir" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" \
  "-s -w -X main.version=$KUBECONFORM_VERSION"

schema_stamp="kubernetes-validate $KUBERNETES_VALIDATE_VERSION $SCHEMA_K8S_VERSION
$(sha256sum < "$here/gen-schemas.py")"
if stamped "$schema_dir/.stamp" "$schema_stamp"; then
  log "up to date: $schema_dir"
else
  start=$(date +%s)
  log "generating $SCHEMA_K8S_VERSION schemas from kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
  py="$kc_dir/pypkg"
  rm -rf "$py" "$schema_dir.tmp"
  # Only the wheel's data is used (no dependencies needed, nothing installed system-wide).
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$py" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
  python3 "$here/gen-schemas.py" "$py/kubernetes_validate" "$SCHEMA_K8S_VERSION" "$schema_dir.tmp"
  rm -rf "$schema_dir"
  mv "$schema_dir.tmp" "$schema_dir"
  echo "$schema_stamp" > "$schema_dir/.stamp"
  log "schemas generated in $(($(date +%s) - start)) s"
fi

echo "$HELM_BIN"
