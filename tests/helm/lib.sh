# shellcheck shell=bash disable=SC2034
# Shared settings of the chart tests. Source it; do not run it. tests/helm/build.sh builds these.
HELM_VERSION=v4.3.2
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
SCHEMA_K8S_VERSION=v1.37.0
HELM_TOOLS="${STEGO_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster}"
HELM_BIN="$HELM_TOOLS/helm-$HELM_VERSION/helm"
KUBECONFORM_BIN="$HELM_TOOLS/kubeconform-$KUBECONFORM_VERSION/kubeconform"
# kubeconform's -schema-location template points into this tree.
KUBECONFORM_SCHEMAS="$HELM_TOOLS/kubeconform-$KUBECONFORM_VERSION/schemas"
