#!/usr/bin/env bash
# The product as a customer installs it, end to end on a real node (CTest install_e2e, label
# k8s-node):
#
#   tests/k8s/install/e2e.sh BIN_DIR [IMAGES_OUT]
#
#  1. our images (images/build.sh from BIN_DIR's binaries, archives in IMAGES_OUT, by default the
#     cache's) imported into the node's containerd;
#  2. `helm install` of charts/stego-operator: the operator runs in-cluster, two replicas, as its
#     ServiceAccount (projected token, the kubernetes Service through kube-proxy), one holds the Lease;
#  3. `kubectl apply` of a StegoCluster with PVC storage (static local PVs), an Ingress and mutual
#     TLS on the peer port (spec.tls.peer): three worker pods from our image form a Raft cluster
#     over the certificate the operator issued and the kubelet mounted, status Ready; the peer port
#     answers a client with that certificate, and refuses one without it and plain HTTP;
#  4. through Traefik, with the Ingress's host: an embed, an extract, a cover upload, each answered by
#     the leader the status names;
#  5. the leader pod deleted: its preStop hook hands leadership over while it still runs, the label
#     follows the new leader, the pod comes back on its PVC, and the
#     same calls succeed through the Ingress, the cover still there;
#  6. under a writer and an embedder through the Ingress that follow the retry rule: a rolling restart (every pod
#     replaced on its PVC, the real kubelet running each preStop hook), then `kubectl scale` 3 -> 5
#     -> 3; no write fails, none is lost, the scaled-in members' PVCs are gone;
#  7. `helm upgrade` (a changed operator value): the operator rolls, the workers do not restart;
#  8. `helm uninstall`: the operator goes; the CRD, the StegoCluster, its pods and its data stay.
#
# Outside the namespaces it builds what needs the network (images, Traefik, Helm, the node's
# binaries: all cached), then re-runs itself inside netns.sh + controlplane/run.sh --node.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
bin_dir="$(cd "${1:?usage: e2e.sh BIN_DIR [IMAGES_OUT]}" && pwd)"
# shellcheck source=../../../images/lib.sh
source "$root/images/lib.sh"
images_out="$(mkdir -p "${2:-$IMAGES_CACHE/out}" && cd "${2:-$IMAGES_CACHE/out}" && pwd)"
log() { echo "install_e2e: $*" >&2; }
fail() { echo "install_e2e: FAIL: $*" >&2; exit 1; }

if [[ -z "${STEGO_INSTALL_E2E_INSIDE:-}" ]]; then
  "$root/images/build.sh" --bin-dir "$bin_dir" --out "$images_out" >&2
  "$root/tests/helm/build.sh" >/dev/null
  "$root/tests/ingress/traefik/build.sh" >/dev/null
  "$root/tests/k8s/controlplane/build.sh" >/dev/null
  "$root/tests/k8s/node/build.sh"
  export STEGO_INSTALL_E2E_INSIDE=1
  exec "$root/tests/k8s/netns.sh" -- "$root/tests/k8s/controlplane/run.sh" --node -- "$0" "$bin_dir" "$images_out"
fi

# shellcheck source=../../helm/lib.sh
source "$root/tests/helm/lib.sh"
helm() { "$HELM_BIN" "$@"; }
ns=demo
op_ns=stego-system
host=stego.e2e.test
deadline_s=300

# wait_for DESCRIPTION COMMAND...: until COMMAND succeeds, at most deadline_s.
wait_for() {
  local what=$1 end=$((SECONDS + deadline_s)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || fail "not within ${deadline_s}s: $what"
    sleep 1
  done
}
jsonpath() { kubectl get "$@" 2>/dev/null; }

# ---------------------------------------------------------------- images, storage, Ingress controller
for image in worker operator; do
  "$root/tests/k8s/node/import-image.sh" "$(image_archive "$images_out" "$image")" "localhost/stego-$image" >&2
done
# Five: the scale-out's two newcomers need one each (their claims go with the scale-in).
"$root/tests/k8s/node/pvs.sh" 5 1Gi local >&2
# Traefik on the node's side of the namespace, where pod IPs route; it serves IngressClass traefik.
kubectl apply -f - >&2 <<YAML
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik}
spec: {controller: traefik.io/ingress-controller}
YAML
traefik_dir="$STEGO_K8S_DIR/traefik"
"$root/tests/ingress/traefik/up.sh" "$traefik_dir" >/dev/null
trap '"$root/tests/ingress/traefik/down.sh" "$traefik_dir"' EXIT
# shellcheck disable=SC1091  # TRAEFIK_WEB: the entry point the Ingresses are served on
source "$traefik_dir/env"

# ---------------------------------------------------------------- 2. helm install
log "helm install"
helm install stego-operator "$root/charts/stego-operator" --namespace "$op_ns" --create-namespace \
  --set image.pullPolicy=Never >&2
kubectl -n "$op_ns" rollout status deployment/stego-operator --timeout="${deadline_s}s" >&2
lease_holder() { jsonpath -n "$op_ns" lease stego-operator -o 'jsonpath={.spec.holderIdentity}'; }
holder_is_a_pod() { local h; h="$(lease_holder)" && [[ -n "$h" ]] && kubectl -n "$op_ns" get pod "$h"; }
wait_for "an operator pod holds the Lease" holder_is_a_pod
log "operator $(lease_holder) leads, in-cluster"

# ---------------------------------------------------------------- 3. a StegoCluster on PVCs
kubectl create namespace "$ns" >&2
kubectl apply -f - >&2 <<YAML
apiVersion: stegocluster.io/v1alpha1
kind: StegoCluster
metadata: {name: demo, namespace: $ns}
spec:
  replicas: 3
  imagePullPolicy: Never
  storage: {type: PersistentVolumeClaim, size: 1Gi, storageClassName: local}
  ingress: {enabled: true, host: $host, className: traefik}
  tls: {peer: true}
YAML
kubectl -n "$ns" wait stegocluster/demo --for=condition=Ready --timeout="${deadline_s}s" >&2
leader() { jsonpath -n "$ns" stegocluster demo -o 'jsonpath={.status.leader}'; }
for i in 0 1 2; do
  [[ "$(jsonpath -n "$ns" pvc "data-demo-$i" -o 'jsonpath={.status.phase}')" == Bound ]] || fail "data-demo-$i is not Bound"
done
log "cluster Ready on PVCs; leader $(leader)"
tmp="$(mktemp -d)"
trap '"$root/tests/ingress/traefik/down.sh" "$traefik_dir"; rm -rf "$tmp"' EXIT

# The peer port, as a member calls it (docs/security.md, "Verify with curl"), on demo-0's pod IP.
secret_value() { kubectl -n "$ns" get secret "$1" -o "jsonpath={.data.${2//./\\.}}" | base64 -d; }
for file in tls.crt tls.key ca.crt; do secret_value demo-peer-tls "$file" >"$tmp/$file"; done
cluster_secret="$(secret_value demo-auth cluster-secret)"
pod_ip="$(jsonpath -n "$ns" pod demo-0 -o 'jsonpath={.status.podIP}')"
# peer_call [CURL_ARGS...]: GET /raft/v1/cluster on the peer port; prints the status (000: refused).
peer_call() {
  curl -sS --max-time 10 -o "$tmp/peer.out" -w '%{http_code}' --resolve "stego-peer:7000:$pod_ip" \
    --cacert "$tmp/ca.crt" "$@" https://stego-peer:7000/raft/v1/cluster 2>/dev/null || true
}
code="$(peer_call --cert "$tmp/tls.crt" --key "$tmp/tls.key" -H "Authorization: Bearer $cluster_secret")"
[[ $code == 200 ]] || fail "the peer port answered $code to a member's certificate: $(head -c 300 "$tmp/peer.out")"
code="$(peer_call -H "Authorization: Bearer $cluster_secret")"
[[ $code == 000 ]] || fail "the peer port answered $code to a client without a certificate"
code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$pod_ip:7000/raft/v1/cluster" 2>/dev/null || true)"
[[ $code == 400 ]] || fail "the peer port answered $code to plain HTTP, not 400 https_required"
log "the peer port speaks mutual TLS with the operator's certificate, mounted by the kubelet"

# ---------------------------------------------------------------- 4. the API through the Ingress
# call PATH OUT [CURL_ARGS...]: one request through Traefik with the Ingress's host; prints the
# HTTP status (000 when nothing answered).
call() {
  local path=$1 out=$2; shift 2
  curl -sS --max-time 30 -o "$out" -w '%{http_code}' -H "Host: $host" "$@" "http://$TRAEFIK_WEB$path" 2>/dev/null || true
}
served_by_leader() { [[ "$(call /raft/status "$tmp/raft.json")" == 200 ]] && grep -q '"role":"leader"' "$tmp/raft.json"; }
# round_trip TAG: embed a message and a cover upload through the Ingress, extract it back.
round_trip() {
  local tag=$1 message="hidden through the ingress ($1)" code
  code="$(call /api/v1/embed "$tmp/$tag.png" -F "message=$message")"
  [[ $code == 200 ]] || fail "$tag: embed answered $code: $(head -c 300 "$tmp/$tag.png")"
  code="$(call /api/v1/extract "$tmp/$tag.out" -F "file=@$tmp/$tag.png")"
  [[ $code == 200 ]] || fail "$tag: extract answered $code: $(head -c 300 "$tmp/$tag.out")"
  grep -qF "$message" "$tmp/$tag.out" || fail "$tag: extract gave $(head -c 300 "$tmp/$tag.out")"
}
wait_for "the Ingress routes to the leader" served_by_leader
code="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H 'Host: unknown.e2e.test' "http://$TRAEFIK_WEB/healthz" || true)"
[[ $code == 404 ]] || fail "an unknown host was answered $code, not 404"
round_trip first
code="$(call /api/v1/covers "$tmp/cover.json" -F "file=@$tmp/first.png")"
[[ $code == 201 ]] || fail "cover upload answered $code: $(cat "$tmp/cover.json")"
cover_id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/cover.json")"
log "embed, extract and a cover upload ($cover_id) through the Ingress"

# ---------------------------------------------------------------- 5. the leader pod deleted
old_leader="$(leader)"
pod_uid() { jsonpath -n "$ns" pod "$1" -o 'jsonpath={.metadata.uid}'; }
old_uid="$(pod_uid "$old_leader")"
kubectl -n "$ns" delete pod "$old_leader" --wait=false >&2
new_leader_elected() { local l; l="$(leader)" && [[ -n "$l" && "$l" != "$old_leader" ]]; }
wait_for "a new leader after deleting $old_leader" new_leader_elected
# Its preStop hook (stego-worker --pre-stop) handed leadership over and keeps it serving for the
# 5 s drain window: another member leads while the old pod is still there, Terminating.
[[ "$(pod_uid "$old_leader")" == "$old_uid" ]] ||
  fail "$old_leader was gone before another member led: its preStop hook did not hand leadership over"
replaced() { local u; u="$(pod_uid "$old_leader")" && [[ -n "$u" && "$u" != "$old_uid" ]]; }
wait_for "$old_leader recreated" replaced
kubectl -n "$ns" wait stegocluster/demo --for=condition=Ready --timeout="${deadline_s}s" >&2
failed_hooks="$(kubectl -n "$ns" get events --field-selector reason=FailedPreStopHook -o name)"
[[ -z $failed_hooks ]] || fail "a preStop hook failed: $(kubectl -n "$ns" get events --field-selector reason=FailedPreStopHook)"
wait_for "the Ingress routes to the new leader" served_by_leader
round_trip second
code="$(call "/api/v1/covers?consistent=true" "$tmp/covers.json")"
if [[ $code != 200 ]] || ! grep -qF "$cover_id" "$tmp/covers.json"; then
  fail "the cover is gone after the leader's deletion: $code $(cat "$tmp/covers.json")"
fi
code="$(call /api/v1/embed "$tmp/on-cover.png" -F "cover_id=$cover_id" -F message=still-here)"
[[ $code == 200 ]] || fail "embed into the uploaded cover answered $code"
log "leader $old_leader deleted: $(leader) leads, $old_leader is back on its PVC, the API and the cover survived"

# ---------------------------------------------------------------- 6. a rolling restart and 3 -> 5 -> 3 under writes
# A writer through the Ingress follows the documented retry rule: every write carries an
# Idempotency-Key, and one that gets no answer or a 503 is sent again with the same key (5 tries).
# It raises max_pixels 80000001, 80000002, ...: so "no acknowledged write lost" reads as "the final
# value is at least the last acknowledged one".
admin_key="$(kubectl -n "$ns" get secret demo-auth -o 'jsonpath={.data.admin-key}' | base64 -d)"
# retried PATH OUT [CURL_ARGS...]: `call` under the retry rule; prints the last status.
retried() {
  local tries=0 code=000
  while ((tries < 5)); do
    tries=$((tries + 1))
    code="$(call "$@")"
    [[ $code == 000 || $code == 503 ]] || break
    sleep 0.2
  done
  echo "$code"
}
writer() {
  local n=0 code
  while [[ ! -e "$tmp/stop" ]]; do
    n=$((n + 1))
    code="$(retried /api/v1/config "$tmp/write.out" -X PUT -H "Authorization: Bearer $admin_key" \
      -H "Idempotency-Key: install-$n" -H 'Content-Type: application/json' -d "{\"max_pixels\": $((80000000 + n))}")"
    if [[ $code == 200 ]]; then echo "$n" >"$tmp/acked"; else echo "write $n: $code $(head -c 300 "$tmp/write.out")" >>"$tmp/failures"; fi
    sleep 0.05
  done
}
# And an embedder beside it, through the Ingress under the same rule, 200 ms between embeds.
embedder() {
  local n=0 code
  while [[ ! -e "$tmp/stop" ]]; do
    n=$((n + 1))
    code="$(retried /api/v1/embed "$tmp/embed.out" -F "message=under load $n")"
    if [[ $code == 200 ]]; then echo "$n" >"$tmp/embedded"; else echo "embed $n: $code $(head -c 300 "$tmp/embed.out")" >>"$tmp/failures"; fi
    sleep 0.2
  done
}
members_settled() {  # N: N pods, all Ready, the cluster Ready with N members ready
  [[ "$(jsonpath -n "$ns" stegocluster demo -o 'jsonpath={.status.readyReplicas}/{.status.conditions[?(@.type=="Ready")].status}')" == "$1/True" ]] &&
    [[ "$(jsonpath -n "$ns" pods -l stegocluster.io/cluster=demo -o name | wc -l)" == "$1" ]]
}
writer &
writer_pid=$!
embedder &
embedder_pid=$!
uids_before_restart="$(jsonpath -n "$ns" pods -l stegocluster.io/cluster=demo -o 'jsonpath={.items[*].metadata.uid}')"
kubectl -n "$ns" annotate --overwrite stegocluster/demo kubectl.kubernetes.io/restartedAt=2026-12-04T12:00:00Z >&2
all_replaced() {
  local uid
  for uid in $(jsonpath -n "$ns" pods -l stegocluster.io/cluster=demo -o 'jsonpath={.items[*].metadata.uid}'); do
    grep -qw "$uid" <<<"$uids_before_restart" && return 1
  done
  members_settled 3
}
wait_for "every member restarted" all_replaced
log "rolling restart: every member replaced on its PVC, leader now $(leader)"
kubectl -n "$ns" scale stegocluster/demo --replicas=5 >&2
wait_for "5 members" members_settled 5
kubectl -n "$ns" scale stegocluster/demo --replicas=3 >&2
wait_for "3 members again" members_settled 3
touch "$tmp/stop"
wait "$writer_pid" "$embedder_pid"
[[ ! -e "$tmp/failures" ]] || fail "$(wc -l <"$tmp/failures") requests failed, the first: $(head -1 "$tmp/failures")"
embedded="$(cat "$tmp/embedded" 2>/dev/null || echo 0)"
((embedded > 10)) || fail "only $embedded embeds were answered"
acked="$(cat "$tmp/acked" 2>/dev/null || echo 0)"
((acked > 20)) || fail "only $acked writes were acknowledged"
code="$(call "/api/v1/config?consistent=true" "$tmp/config.json")"
final="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["max_pixels"])' "$tmp/config.json")"
((final >= 80000000 + acked)) || fail "an acknowledged write was lost: max_pixels $final, last acknowledged $((80000000 + acked))"
for i in 3 4; do ! kubectl -n "$ns" get pvc "data-demo-$i" >/dev/null 2>&1 || fail "data-demo-$i outlived the scale-in"; done
round_trip restarted
log "restart and scale 3 -> 5 -> 3 under $acked writes and $embedded embeds through the Ingress: none failed, no write lost"

# ---------------------------------------------------------------- 7. helm upgrade: workers untouched
worker_uids() { jsonpath -n "$ns" pods -l stegocluster.io/cluster=demo -o 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}'; }
before="$(worker_uids)"
sts_generation() { jsonpath -n "$ns" statefulset demo -o 'jsonpath={.metadata.generation}'; }
generation="$(sts_generation)"
op_pods_before="$(jsonpath -n "$op_ns" pods -l app.kubernetes.io/name=stego-operator -o name)"
helm upgrade stego-operator "$root/charts/stego-operator" --namespace "$op_ns" --reuse-values \
  --set operator.logLevel=debug >&2
kubectl -n "$op_ns" rollout status deployment/stego-operator --timeout="${deadline_s}s" >&2
new_operator_leads() { local h; h="$(lease_holder)" && [[ -n "$h" ]] && ! grep -qF "pod/$h" <<<"$op_pods_before" && kubectl -n "$op_ns" get pod "$h"; }
wait_for "an upgraded operator pod holds the Lease" new_operator_leads
# The new operator has reconciled the cluster once it reports on this generation.
kubectl -n "$ns" wait stegocluster/demo --for=condition=Ready --timeout="${deadline_s}s" >&2
[[ "$(worker_uids)" == "$before" ]] || fail "helm upgrade restarted workers: before $before, after $(worker_uids)"
[[ "$(sts_generation)" == "$generation" ]] || fail "helm upgrade changed the StatefulSet (generation $generation -> $(sts_generation))"
round_trip third
log "helm upgrade: operator $(lease_holder) leads, the workers did not restart"

# ---------------------------------------------------------------- 8. helm uninstall
helm uninstall stego-operator --namespace "$op_ns" >&2
operator_gone() { [[ -z "$(jsonpath -n "$op_ns" pods -l app.kubernetes.io/name=stego-operator -o name)" ]]; }
wait_for "the operator pods to go" operator_gone
kubectl get crd stegoclusters.stegocluster.io >/dev/null || fail "helm uninstall deleted the CRD"
kubectl -n "$ns" get stegocluster demo >/dev/null || fail "helm uninstall deleted the StegoCluster"
[[ "$(worker_uids)" == "$before" ]] || fail "helm uninstall touched the workers"
for i in 0 1 2; do kubectl -n "$ns" get pvc "data-demo-$i" >/dev/null || fail "data-demo-$i is gone"; done
round_trip fourth
log "helm uninstall: the operator is gone; the CRD, the cluster, its data and its API stay"
log "ok"
