#!/usr/bin/env bash
# The Helm chart's tests (CTest label helm). Each mode fails when its thing is broken.
#
#   tests/helm/test.sh lint         helm lint --strict: default values, and every optional part on
#   tests/helm/test.sh kubeconform  the rendered chart (both value sets) and manifests/ validated
#                                   offline by kubeconform -strict against the v1.37 schemas; the
#                                   StegoCluster against a schema made from crds/stegocluster.yaml;
#                                   ServiceMonitor skipped (no schema: the Prometheus Operator's CRD
#                                   is not ours to vendor)
#   tests/helm/test.sh crd-sync     the chart's CRD is crds/stegocluster.yaml byte for byte (the copy
#                                   in files/, and the rendered template minus the inserted metadata)
#   tests/helm/test.sh drift        manifests/ equals what scripts/render-manifests.sh writes now
#   tests/helm/test.sh k8s          on the real test control plane (run.sh): server-side dry run,
#                                   helm install, upgrade with a StegoCluster, uninstall keeps the CRD
# The tools come from tests/helm/build.sh (built into the cache, outside the repository).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
chart="$root/charts/stego-operator"
all="$here/values-all.yaml"
mode=${1:?usage: test.sh lint|kubeconform|crd-sync|drift|k8s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log() { echo "helm/test $mode: $*" >&2; }
fail() { echo "helm/test $mode: FAIL: $*" >&2; exit 1; }
need_tools() {
  [[ -x "$HELM_BIN" && -x "$KUBECONFORM_BIN" ]] || fail "tools missing: run tests/helm/build.sh (CTest: helm_build)"
}

case "$mode" in
lint)
  need_tools
  "$HELM_BIN" lint --strict "$chart"
  "$HELM_BIN" lint --strict "$chart" --namespace stego-system -f "$all"
  # The values schema refuses unknown keys and wrong types.
  if "$HELM_BIN" template x "$chart" --set replicaCont=2 >/dev/null 2>&1; then fail "an unknown value key was accepted"; fi
  if "$HELM_BIN" template x "$chart" --set image.pullPolicy=Sometimes >/dev/null 2>&1; then fail "a bad pullPolicy was accepted"; fi
  log "ok"
  ;;
kubeconform)
  need_tools
  # A strict schema for StegoCluster from the CRD's openAPIV3Schema, named as kubeconform looks it up.
  python3 - "$root/crds/stegocluster.yaml" "$tmp/stegocluster-stegocluster-v1alpha1.json" <<'PY'
import json, sys, yaml
crd = yaml.safe_load(open(sys.argv[1]))
v = crd["spec"]["versions"][0]
def strict(s):
    if isinstance(s, dict):
        s = {k: strict(x) for k, x in s.items() if not k.startswith("x-kubernetes-")}
        if s.get("type") == "object" and "properties" in s and "additionalProperties" not in s:
            s["additionalProperties"] = False
        return s
    if isinstance(s, list):
        return [strict(x) for x in s]
    return s
schema = strict(v["schema"]["openAPIV3Schema"])
schema["properties"]["apiVersion"] = {"enum": [crd["spec"]["group"] + "/" + v["name"]]}
schema["properties"]["kind"] = {"enum": [crd["spec"]["names"]["kind"]]}
schema["properties"]["metadata"] = {"type": "object"}
json.dump(schema, open(sys.argv[2], "w"))
PY
  "$HELM_BIN" template stego-operator "$chart" --namespace stego-system > "$tmp/default.yaml"
  "$HELM_BIN" template stego-operator "$chart" --namespace stego-system -f "$all" > "$tmp/all.yaml"
  grep -q '^kind: StegoCluster$' "$tmp/all.yaml" || fail "the StegoCluster was not rendered"
  "$KUBECONFORM_BIN" -strict -summary -kubernetes-version "${SCHEMA_K8S_VERSION#v}" \
    -schema-location "$KUBECONFORM_SCHEMAS/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json" \
    -schema-location "$tmp/{{.ResourceKind}}{{.KindSuffix}}.json" \
    -skip ServiceMonitor \
    "$tmp/default.yaml" "$tmp/all.yaml" "$root/manifests/rbac.yaml" "$root/manifests/stego-operator.yaml"
  log "ok"
  ;;
crd-sync)
  cmp "$root/crds/stegocluster.yaml" "$chart/files/stegocluster.yaml" \
    || fail "charts/stego-operator/files/stegocluster.yaml differs from crds/stegocluster.yaml: cp crds/stegocluster.yaml charts/stego-operator/files/"
  need_tools
  "$HELM_BIN" template stego-operator "$chart" --namespace stego-system --show-only templates/crd.yaml > "$tmp/crd.yaml"
  python3 - "$tmp/crd.yaml" "$root/crds/stegocluster.yaml" <<'PY' || fail "the rendered CRD is not crds/stegocluster.yaml plus the inserted metadata"
import sys, yaml
rendered, want = open(sys.argv[1]).read(), open(sys.argv[2]).read()
head = "---\n# Source: stego-operator/templates/crd.yaml\n"
assert rendered.startswith(head), "no Source header"
lines = rendered[len(head):].splitlines(keepends=True)
# Drop what the template inserts: the annotations and labels blocks under metadata.
out, skip = [], False
for l in lines:
    if l in ("  annotations:\n", "  labels:\n"):
        skip = True
        continue
    if skip and l.startswith("    "):
        continue
    skip = False
    out.append(l)
got = "".join(out)
if got.rstrip("\n") != want.rstrip("\n"):
    import difflib
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "crds/stegocluster.yaml", "rendered"))
    sys.exit(1)
meta = yaml.safe_load(rendered)["metadata"]
assert meta["annotations"] == {"helm.sh/resource-policy": "keep"}, meta
PY
  log "ok"
  ;;
drift)
  need_tools
  STEGO_HELM="$HELM_BIN" "$root/scripts/render-manifests.sh" "$tmp/manifests"
  for f in rbac.yaml stego-operator.yaml; do
    diff -u "$root/manifests/$f" "$tmp/manifests/$f" \
      || fail "manifests/$f is not what the chart renders: run scripts/render-manifests.sh and commit"
  done
  log "ok"
  ;;
k8s)
  need_tools
  # Inside tests/k8s/controlplane/run.sh: KUBECONFIG and the cached kubectl are set up.
  [[ -n "${KUBECONFIG:-}" ]] || fail "run me as: tests/k8s/controlplane/run.sh -- tests/helm/test.sh k8s"
  export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"
  ns=stego-system
  kubectl create namespace "$ns"
  # 1. Server-side dry run of the rendered chart (no StegoCluster: its CRD does not exist yet).
  "$HELM_BIN" template stego-operator "$chart" --namespace "$ns" -f "$all" \
    --set stegoCluster.enabled=false,serviceMonitor.enabled=false > "$tmp/dry.yaml"
  kubectl apply --dry-run=server -f "$tmp/dry.yaml"
  kubectl get crd stegoclusters.stegocluster.io >/dev/null 2>&1 && fail "the dry run created the CRD"
  # 2. helm install creates the CRD, the RBAC and the Deployment (no pods run: no node here).
  "$HELM_BIN" install stego-operator "$chart" --namespace "$ns"
  kubectl wait --for=condition=Established crd/stegoclusters.stegocluster.io --timeout=60s
  kubectl -n "$ns" get serviceaccount/stego-operator role/stego-operator-leader-election \
    rolebinding/stego-operator-leader-election deployment/stego-operator
  kubectl get clusterrole/stego-operator clusterrolebinding/stego-operator
  [[ "$(kubectl -n "$ns" get deployment stego-operator -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image}')" \
     == "2 localhost/stego-operator:$(awk '/^appVersion:/{gsub(/"/,"",$2); print $2}' "$chart/Chart.yaml")" ]] \
    || fail "unexpected replicas or image"
  # The ServiceAccount may do what the operator needs (a sample), and not more.
  sa=system:serviceaccount:$ns:stego-operator
  [[ $(kubectl auth can-i patch stegoclusters.stegocluster.io --subresource=status -A --as "$sa" || true) == yes ]] || fail "status patch not allowed"
  [[ $(kubectl auth can-i update leases.coordination.k8s.io -n "$ns" --as "$sa" || true) == yes ]] || fail "lease update not allowed"
  [[ $(kubectl auth can-i list secrets -A --as "$sa" || true) == no ]] || fail "secrets may be listed"
  # 3. An upgrade with a StegoCluster (the CRD exists now); then the server-side dry run of everything.
  "$HELM_BIN" upgrade stego-operator "$chart" --namespace "$ns" --set stegoCluster.enabled=true,stegoCluster.name=demo
  kubectl -n "$ns" get stegocluster/demo
  "$HELM_BIN" template stego-operator "$chart" --namespace "$ns" -f "$all" --set serviceMonitor.enabled=false > "$tmp/dry-all.yaml"
  kubectl apply --dry-run=server -f "$tmp/dry-all.yaml"
  # 4. helm uninstall deletes the release's objects but keeps the CRD (helm.sh/resource-policy: keep).
  "$HELM_BIN" uninstall stego-operator --namespace "$ns" --wait --timeout 60s
  kubectl get crd stegoclusters.stegocluster.io || fail "helm uninstall deleted the CRD"
  for o in deployment/stego-operator serviceaccount/stego-operator role/stego-operator-leader-election stegocluster/demo; do
    [[ -z "$(kubectl -n "$ns" get "$o" --ignore-not-found -o name)" ]] || fail "$o left after uninstall"
  done
  [[ -z "$(kubectl get clusterrole/stego-operator --ignore-not-found -o name)" ]] || fail "ClusterRole left after uninstall"
  # 5. A second install adopts the kept CRD (it carries the release's annotations).
  "$HELM_BIN" install stego-operator "$chart" --namespace "$ns"
  "$HELM_BIN" uninstall stego-operator --namespace "$ns" --wait --timeout 60s
  log "ok"
  ;;
*) fail "unknown mode" ;;
esac
