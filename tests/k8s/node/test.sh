#!/usr/bin/env bash
# End-to-end test of the real test node: what the operator's chart will need
# of it, checked with a busybox pod.
#
#   tests/k8s/node/test.sh
#
# Builds (cached; network needed when cold), then in a private namespace
# (tests/k8s/netns.sh) starts a control plane with a node
# (tests/k8s/controlplane/run.sh --node) and checks, on a pod running as uid
# 65532 with a read-only root filesystem, fsGroup 65532, a memory limit and a
# PVC on a local PV (pvs.sh):
#   the node is Ready; the pod writes into its volume (owned by its fsGroup)
#   and cannot write to /; its memory cgroup has the limit; `kubectl logs` and
#   `kubectl exec` work; it resolves kubernetes.default.svc and a headless
#   Service to pod IPs; it reaches the API server at 10.96.0.1:443 (TCP)
#   and its projected service-account token authenticates there; the host side reaches the pod IP; its
#   preStop hook runs on delete, within the grace period.
# Then, with a second pod still running, that the teardown leaves no process,
# mount, cgroup or pod network namespace of the run (checked in the namespace). Root only (containerd, kubelet).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s="$(cd "$here/.." && pwd)"
log() { echo "node/test: $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

# poll SECONDS COMMAND... : until COMMAND succeeds (no fixed waits).
poll() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

case "${1:-}" in
  -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
  "")
    [[ $EUID == 0 ]] || { log "needs root (containerd and kubelet)"; exit 1; }
    "$k8s/controlplane/build.sh" >/dev/null
    "$here/build.sh"
    exec "$k8s/netns.sh" -- "$0" --in-namespace
    ;;
  --in-namespace)
    state="$(mktemp "${TMPDIR:-/tmp}/stego-node-test.XXXXXX")"
    trap 'rm -f "$state"' EXIT
    rc=0
    STEGO_NODE_TEST_STATE="$state" "$k8s/controlplane/run.sh" --node -- "$0" --on-node || rc=$?
    ((rc == 0)) || fail "the test on the node failed (exit $rc)"
    { read -r run_dir; mapfile -t netns_files; } < "$state"
    [[ -n "${run_dir:-}" ]] || fail "the test on the node recorded no run directory"
    ((${#netns_files[@]} > 0)) || fail "the test on the node recorded no pod network namespace"
    # After the teardown: nothing of the run is left.
    left="$(pgrep -af -- "$run_dir" || true)"
    [[ -z "$left" ]] || fail "processes of the run are left: $left"
    left="$(findmnt -rn -o TARGET | grep -F -- "$run_dir" || true)"
    [[ -z "$left" ]] || fail "mounts of the run are left: $left"
    left="$(find /sys/fs/cgroup -maxdepth 2 -name "stego-node-${run_dir##*.}" 2>/dev/null || true)"
    [[ -z "$left" ]] || fail "cgroups of the run are left: $left"
    [[ ! -e "$run_dir" ]] || fail "run directory $run_dir is left"
    for f in "${netns_files[@]}"; do [[ ! -e "$f" ]] || fail "pod network namespace $f is left"; done
    log "PASS (teardown, with a pod still running, left no process, mount, cgroup or network namespace)"
    exit 0
    ;;
  --on-node) ;;
  *) echo "node/test.sh: unknown argument: $1" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- on the node
run_dir="$STEGO_K8S_DIR"
# shellcheck source=lib.sh
source "$here/lib.sh"
echo "$run_dir" > "$STEGO_NODE_TEST_STATE"
ready="$(kubectl get node "$STEGO_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
[[ "$ready" == True ]] || fail "node $STEGO_NODE_NAME is not Ready: $ready"
log "node $STEGO_NODE_NAME is Ready"

pv="$("$here/pvs.sh" 1 64Mi local)"
pv_dir="$STEGO_NODE_DIR/pvs/$pv"
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: peers}
spec:
  clusterIP: None
  selector: {app: busy}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  storageClassName: local
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels: {app: busy}
spec:
  terminationGracePeriodSeconds: 60
  securityContext: {runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, runAsNonRoot: true}
  containers:
  - name: main
    image: $STEGO_NODE_BUSYBOX_IMAGE
    imagePullPolicy: Never
    command:
    - /bin/sh
    - -c
    - |
      echo "started as \$(id -u)" > /data/started
      if touch /root-probe 2>/dev/null; then echo "root filesystem writable"; fi
      echo "hello from busy"
      httpd -p 8080 -h /data
      trap 'exit 0' TERM
      while :; do sleep 1 & wait \$!; done
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
    resources: {limits: {memory: 48Mi, cpu: 500m}}
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
    volumeMounts: [{name: data, mountPath: /data}]
    lifecycle:
      preStop:
        exec: {command: [/bin/sh, -c, 'echo "preStop ran" > /data/prestop']}
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
EOF
kubectl wait --for=condition=Ready pod/busy --timeout=180s >/dev/null ||
  { kubectl describe pod busy >&2; fail "pod busy is not Ready"; }
pod_ip="$(kubectl get pod busy -o jsonpath='{.status.podIP}')"
[[ "$pod_ip" == 10.244.1.* ]] || fail "pod IP $pod_ip is not on the node's bridge"
log "pod busy is Ready at $pod_ip, PVC data bound to $pv"

# Volume: written by the pod, group-owned by its fsGroup; / read-only.
[[ "$(cat "$pv_dir/started")" == "started as 65532" ]] || fail "the pod's file in its PV: $(cat "$pv_dir/started" 2>&1)"
[[ "$(stat -c %g "$pv_dir")" == 65532 ]] || fail "the PV directory's group is $(stat -c %g "$pv_dir"), not the fsGroup"
# shellcheck disable=SC2016  # (expanded in the pod)
out="$(kubectl exec busy -- sh -c 'touch /x 2>&1; echo "exit $?"')"
[[ "$out" == *"Read-only file system"*"exit 1" ]] || fail "writing to / in the pod: $out"
limit="$(kubectl exec busy -- cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
[[ "$limit" == $((48 * 1024 * 1024)) ]] || fail "memory limit in the pod's cgroup: $limit"
log "PV written as uid 65532 (group 65532), / read-only, memory limit $limit"

# logs and exec through the API server and the kubelet.
logs="$(kubectl logs busy)"
[[ "$logs" == *"hello from busy"* && "$logs" != *"writable"* ]] || fail "kubectl logs: $logs"
[[ "$(kubectl exec busy -- id -u)" == 65532 ]] || fail "kubectl exec id -u"
log "kubectl logs and exec work"

# Cluster DNS from the pod's resolver.
lookup() { kubectl exec busy -- nslookup "$1" 2>&1; }
resolves_to() { [[ "$(lookup "$1")" == *"Address: $2"* ]]; }
poll 60 resolves_to kubernetes.default.svc.cluster.local 10.96.0.1 ||
  fail "kubernetes.default.svc.cluster.local: $(lookup kubernetes.default.svc.cluster.local)"
poll 60 resolves_to peers.default.svc.cluster.local "$pod_ip" ||
  fail "headless peers.default.svc.cluster.local: $(lookup peers.default.svc.cluster.local)"
[[ "$(lookup peers.default.svc.cluster.local)" != *"Address: 10.96."* ]] || fail "the headless Service has a ClusterIP"
# (busybox's nslookup takes names as they are; a libc resolver, as the
# workers', completes peers.default.svc with this search list.)
resolv="$(kubectl exec busy -- cat /etc/resolv.conf)"
[[ "$resolv" == *"nameserver $STEGO_NODE_IP"* && "$resolv" == *"search default.svc.cluster.local svc.cluster.local cluster.local"* ]] ||
  fail "the pod's resolv.conf: $resolv"
out="$(kubectl exec busy -- wget -q -O- http://peers.default.svc:8080/started 2>&1)" ||
  fail "wget http://peers.default.svc:8080/started in the pod: $out"
[[ "$out" == "started as 65532" ]] || fail "wget http://peers.default.svc:8080/started in the pod: $out"
log "the pod resolves kubernetes.default.svc.cluster.local and the headless peers.default.svc ($pod_ip)"

# The API server through the "kubernetes" Service's ClusterIP (kube-proxy).
# From the pod, a TCP connection (busybox's TLS client and the API server
# share no cipher suite); then the pod's projected service-account token, sent
# to the same ClusterIP from the host side: a SelfSubjectReview answers with
# the user the token stands for.
out="$(kubectl exec busy -- nc -w 5 10.96.0.1 443 </dev/null 2>&1)" ||
  fail "TCP to 10.96.0.1:443 from the pod: $out"
token="$(kubectl exec busy -- cat /var/run/secrets/kubernetes.io/serviceaccount/token)" ||
  fail "no service-account token in the pod"
out="$(curl -sS --max-time 10 --cacert "$K8S_CA_FILE" -H "Authorization: Bearer $token" \
  -H "Content-Type: application/json" -X POST \
  --data '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
  https://10.96.0.1/apis/authentication.k8s.io/v1/selfsubjectreviews 2>&1)" || true
grep -q '"username": *"system:serviceaccount:default:default"' <<<"$out" ||
  fail "SelfSubjectReview at https://10.96.0.1 with the pod's token: $out"
log "the pod reaches the API server at 10.96.0.1:443; its token authenticates as system:serviceaccount:default:default"

# The host side reaches the pod IP.
out="$(curl -sf --max-time 10 "http://$pod_ip:8080/started")" || fail "host -> $pod_ip:8080"
[[ "$out" == "started as 65532" ]] || fail "host -> $pod_ip:8080: $out"
log "the host side reaches the pod at $pod_ip"

# preStop on delete, within the grace period (60 s; the pod exits on TERM).
start=$SECONDS
kubectl delete pod busy --wait --timeout=90s >/dev/null || fail "pod busy was not deleted"
took=$((SECONDS - start))
[[ "$(cat "$pv_dir/prestop" 2>&1)" == "preStop ran" ]] || fail "preStop marker: $(cat "$pv_dir/prestop" 2>&1)"
((took < 60)) || fail "deleting the pod took ${took}s, the whole grace period"
log "preStop ran on delete; the pod was gone after ${took}s"

# A pod left running (with its emptyDir and token volumes mounted), so the
# teardown's own cleanup is what the namespace-side checks above judge.
kubectl run stays --image="$STEGO_NODE_BUSYBOX_IMAGE" --image-pull-policy=Never \
  --overrides='{"spec":{"volumes":[{"name":"scratch","emptyDir":{}}],"containers":[{"name":"stays","image":"'"$STEGO_NODE_BUSYBOX_IMAGE"'","imagePullPolicy":"Never","command":["sleep","3600"],"volumeMounts":[{"name":"scratch","mountPath":"/scratch"}]}]}}' >/dev/null
kubectl wait --for=condition=Ready pod/stays --timeout=120s >/dev/null || fail "pod stays is not Ready"
node_sandbox_netns >> "$STEGO_NODE_TEST_STATE"
log "pod stays is running; the teardown must remove it"
