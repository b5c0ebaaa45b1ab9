#!/usr/bin/env bash
# Starts a throw-away Kubernetes control plane on loopback: etcd,
# kube-apiserver and kube-controller-manager, built by build.sh (pinned
# upstream releases, cached outside the repository).
#
#   tests/k8s/controlplane/up.sh [--dir DIR]
#
# Prints the run directory on stdout (last line) and how to use it on stderr.
# The processes keep running after this script exits; stop them with
#   tests/k8s/controlplane/down.sh DIR
# (or use run.sh, which starts, runs a command and always tears down).
#
# The run directory holds everything of this run:
#   kubeconfig   admin kubeconfig (client certificate in group system:masters;
#                context "stego-token" uses the static admin token instead)
#   env          shell variables for tests: KUBECONFIG, K8S_APISERVER, ports, ...
#   pki/         per-run CA, serving/client certificates, service-account keys
#   logs/        one log per component
#   pids/        pid of each component (each is leader of its own process group)
#   cmd/         each component's command line and environment (for restart-apiserver.sh)
#   etcd/        etcd data
#
# Environment:
#   STEGO_K8S_NICE=0                    do not run the components under nice/ionice
#   STEGO_K8S_READY_TIMEOUT=180         seconds to wait for health
#   STEGO_K8S_APISERVER_ARGS="..."      extra kube-apiserver flags
#   STEGO_K8S_CONTROLLER_MANAGER_ARGS="..."  extra kube-controller-manager flags
#   STEGO_K8S_ETCD_ARGS="..."           extra etcd flags
#   STEGO_K8S_APISERVER_IP=IP           serve the API at IP instead of 127.0.0.1, for the
#                                       real node (tests/k8s/node): pods reach it there
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

run_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) run_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "controlplane/up: $*" >&2; }

"$here/build.sh" >/dev/null

if [[ -z "$run_dir" ]]; then
  run_dir="$(mktemp -d "${TMPDIR:-/tmp}/stego-k8s.XXXXXX")"
else
  mkdir -p "$run_dir"
  # (run.sh's watchdog may already have written its pid files)
  for f in "$run_dir"/* "$run_dir"/.[!.]*; do
    [[ -e "$f" ]] || continue
    case "${f##*/}" in watchdog.pid|child.pid) ;; *) log "run directory $run_dir is not empty"; exit 1 ;; esac
  done
fi
run_dir="$(cd "$run_dir" && pwd)"
mkdir -p "$run_dir"/{pki,logs,pids,etcd}
echo $$ > "$run_dir/up.pid"
chmod 700 "$run_dir" "$run_dir/pki" "$run_dir/etcd"

# Anything that fails from here on tears down what was started.
started_ok=0
cleanup_on_failure() {
  if [[ $started_ok == 0 ]]; then
    log "start failed or interrupted; logs are in $run_dir/logs; tearing down"
    for f in "$run_dir"/logs/*.log; do
      [[ -f "$f" ]] || continue
      # openssl's chatter matters only when no component got as far as starting.
      [[ "$f" == */openssl.log && -n "$(ls "$run_dir/pids")" ]] && continue
      echo "---- last lines of $f" >&2
      tail -n 15 "$f" >&2
    done
    "$here/down.sh" --keep "$run_dir" || true
  fi
}
trap cleanup_on_failure EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- ports
# Random free loopback ports, distinct within this run. A port is taken
# when anything listens on it (checked with ss, then with a trial bind).
declare -A picked=()
port_is_free() {
  local p=$1
  [[ -z "${picked[$p]:-}" ]] || return 1
  [[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]] || return 1
  # Trial bind; bash's /dev/tcp only connects, so ask python if present.
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$p" <<'PY' || return 1
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
  fi
}
# pick_port VAR: sets VAR (not a subshell, so "picked" is remembered).
pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))   # 20000-31999: below Linux's ephemeral range (32768+)
    if port_is_free "$p"; then picked[$p]=1; printf -v "$1" '%s' "$p"; return 0; fi
  done
  log "no free loopback port found"; return 1
}
pick_port ETCD_CLIENT_PORT
pick_port ETCD_PEER_PORT
pick_port APISERVER_PORT
pick_port KCM_PORT
echo "$ETCD_CLIENT_PORT $ETCD_PEER_PORT $APISERVER_PORT $KCM_PORT" > "$run_dir/ports"
# ClusterIPs are allocated from here. They are served only with the real node
# (tests/k8s/node runs kube-proxy); without it tests must not connect to them.
SERVICE_CIDR="10.96.0.0/16"
FIRST_SERVICE_IP="10.96.0.1"

# The API server's address. On loopback (the default) the "kubernetes"
# Service can have no endpoints: Endpoints validation rejects 127.0.0.1, so
# the endpoint reconciler is off. At a node's IP the certificate names it,
# the reconciler keeps the endpoints (kube-proxy's 10.96.0.1 -> API server
# rule) and logs/exec reach the kubelet at the node's InternalIP (the node
# name resolves nowhere).
APISERVER_IP="${STEGO_K8S_APISERVER_IP:-127.0.0.1}"
apiserver_ip_san=""
apiserver_ip_args=(--endpoint-reconciler-type=none)
if [[ "$APISERVER_IP" != 127.0.0.1 ]]; then
  apiserver_ip_san=",IP:$APISERVER_IP"
  apiserver_ip_args=(--endpoint-reconciler-type=lease --kubelet-preferred-address-types=InternalIP)
fi

# ---------------------------------------------------------------- certificates
pki="$run_dir/pki"
# new_ca NAME COMMON_NAME
new_ca() {
  k8s_ossl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 \
    -keyout "$pki/$1.key" -out "$pki/$1.crt" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
new_ca ca stego-test-ca
# Front proxy (request-header authentication for aggregated APIs); without it
# every delegating component logs a missing requestheader CA bundle.
new_ca front-proxy-ca stego-test-front-proxy-ca

k8s_issue apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$FIRST_SERVICE_IP$apiserver_ip_san,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
k8s_issue admin "/O=system:masters/CN=stego-admin" "$client_ext"
k8s_issue controller-manager "/CN=system:kube-controller-manager" "$client_ext"
k8s_issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client_ext"
k8s_issue front-proxy-client "/CN=front-proxy-client" "$client_ext" front-proxy-ca
k8s_ossl genrsa -out "$pki/sa.key" 2048
k8s_ossl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
ADMIN_TOKEN="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
echo "$ADMIN_TOKEN,stego-admin-token,stego-admin-token,system:masters" > "$pki/tokens.csv"
echo "$ADMIN_TOKEN" > "$pki/admin.token"
chmod 600 "$pki"/*

# ---------------------------------------------------------------- kubeconfigs
APISERVER_URL="https://$APISERVER_IP:$APISERVER_PORT"
k8s_write_kubeconfig "$run_dir/kubeconfig" stego-admin admin with-token
k8s_write_kubeconfig "$pki/controller-manager.kubeconfig" kube-controller-manager controller-manager

# ---------------------------------------------------------------- processes
nice_cmd=()
[[ "${STEGO_K8S_NICE:-1}" == 0 ]] || nice_cmd=("${K8S_NICE[@]}")

# start NAME BINARY ARGS... : records the command (so restart-apiserver.sh can
# repeat it) and runs it in its own session; see k8s_spawn in lib.sh.
start() {
  local name=$1; shift
  k8s_record "$name" "${nice_cmd[@]}" "$@"
  k8s_spawn "$name"
}

# etcd: plain HTTP on loopback only; fsync off (throw-away data).
# shellcheck disable=SC2086
start etcd "$K8S_BIN/etcd" \
  --name=stego-test \
  --data-dir="$run_dir/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="stego-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync \
  --log-level=warn \
  ${STEGO_K8S_ETCD_ARGS:-}
k8s_wait_for etcd "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

# shellcheck disable=SC2086
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address="$APISERVER_IP" \
  --advertise-address="$APISERVER_IP" \
  --secure-port="$APISERVER_PORT" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --token-auth-file="$pki/tokens.csv" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$pki/front-proxy-client.crt" \
  --proxy-client-key-file="$pki/front-proxy-client.key" \
  --anonymous-auth=false \
  --allow-privileged=true \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  "${apiserver_ip_args[@]}" \
  --profiling=false \
  ${STEGO_K8S_APISERVER_ARGS:-}
k8s_wait_for kube-apiserver "$APISERVER_URL/readyz" \
  --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key"

# shellcheck disable=SC2086
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$pki/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$pki/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$pki/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --cert-dir="$run_dir/pki/controller-manager-serving" \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" \
  --cluster-signing-key-file="$pki/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --controllers='*' \
  --profiling=false \
  ${STEGO_K8S_CONTROLLER_MANAGER_ARGS:-}
k8s_wait_for kube-controller-manager "https://127.0.0.1:$KCM_PORT/healthz" -k

# The controllers are up once the service-account controller has made the
# default ServiceAccount (pods cannot be created before that).
deadline=$((SECONDS + K8S_READY_TIMEOUT))
until "$K8S_BIN/kubectl" --kubeconfig "$run_dir/kubeconfig" -n default get serviceaccount default >/dev/null 2>&1; do
  k8s_alive kube-controller-manager || { log "kube-controller-manager exited"; exit 1; }
  ((SECONDS < deadline)) || { log "no default ServiceAccount within ${K8S_READY_TIMEOUT}s"; exit 1; }
  sleep 0.5
done

cat > "$run_dir/env" <<EOF
# Source this file: the test control plane of $run_dir
export KUBECONFIG='$run_dir/kubeconfig'
export STEGO_K8S_DIR='$run_dir'
export STEGO_K8S_BIN='$K8S_BIN'
export K8S_VERSION='$K8S_VERSION'
export ETCD_VERSION='$ETCD_VERSION'
export K8S_APISERVER='$APISERVER_URL'
export K8S_CA_FILE='$pki/ca.crt'
export K8S_ADMIN_CERT_FILE='$pki/admin.crt'
export K8S_ADMIN_KEY_FILE='$pki/admin.key'
export K8S_ADMIN_TOKEN_FILE='$pki/admin.token'
export K8S_SERVICE_ACCOUNT_KEY_FILE='$pki/sa.key'
export K8S_SERVICE_CIDR='$SERVICE_CIDR'
export ETCD_ENDPOINT='http://127.0.0.1:$ETCD_CLIENT_PORT'
export STEGO_K8S_PORTS='$ETCD_CLIENT_PORT $ETCD_PEER_PORT $APISERVER_PORT $KCM_PORT'
EOF
started_ok=1
rm -f "$run_dir/up.pid"
cat >&2 <<EOF
controlplane/up: Kubernetes $K8S_VERSION (etcd $ETCD_VERSION) is ready at $APISERVER_URL
  kubeconfig: $run_dir/kubeconfig
  use it:     export KUBECONFIG=$run_dir/kubeconfig PATH=$K8S_BIN:\$PATH
              kubectl get --raw /readyz
         or:  $K8S_BIN/kubectl --kubeconfig $run_dir/kubeconfig get all -A
  tests:      source $run_dir/env
  stop:       $here/down.sh $run_dir
EOF
echo "$run_dir"
