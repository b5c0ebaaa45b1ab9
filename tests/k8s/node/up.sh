#!/usr/bin/env bash
# Starts a real Kubernetes node beside a running test control plane: containerd
# (Debian's, with runc and the CNI plugins), kubelet, kube-scheduler,
# kube-proxy (iptables) and CoreDNS, so pods run from real OCI images.
#
#   tests/k8s/node/up.sh --dir RUN_DIR
#
# RUN_DIR is the control plane's run directory (tests/k8s/controlplane/up.sh),
# whose API server must serve at the node IP (STEGO_K8S_APISERVER_IP=10.244.1.1,
# the bridge made by node_net_up in lib.sh). Run it as root inside the
# namespace of tests/k8s/netns.sh; the usual form does all of it:
#   tests/k8s/netns.sh -- tests/k8s/controlplane/run.sh --node -- COMMAND
#
# What a pod sees: its IP on the bridge stego-br0 (10.244.1.0/24, default
# route via the node 10.244.1.1), cluster DNS (CoreDNS at 10.244.1.1:53,
# cluster.local), the "kubernetes" Service at 10.96.0.1:443 (kube-proxy).
# Nothing can be pulled: images come from `import-image.sh` (the pause and
# busybox images of build.sh are imported here). PersistentVolumes: pvs.sh.
#
# Everything lives in RUN_DIR/node (containerd root and state, kubelet root,
# pod logs, CNI config and IPAM state, PV directories); logs and pids of each
# component in RUN_DIR/logs and RUN_DIR/pids like the control plane's. The
# pods' cgroups are under the v1 cgroup /stego-node-<run>. down.sh stops it
# all. Appends STEGO_NODE_* variables to RUN_DIR/env.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
run_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) run_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "node/up.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
log() { echo "node/up: $*" >&2; }
[[ -n "$run_dir" && -s "$run_dir/env" ]] || { log "usage: up.sh --dir RUN_DIR (a running control plane's)"; exit 2; }
run_dir="$(cd "$run_dir" && pwd)"
# shellcheck disable=SC1091
source "$run_dir/env"
[[ "$K8S_APISERVER" == "https://$NODE_IP:"* ]] || { log "the API server is at $K8S_APISERVER, not at the node IP $NODE_IP"; exit 1; }
for tool in containerd:containerd runc:runc ctr:containerd iptables:iptables conntrack:conntrack; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || { log "needs ${tool%%:*} (Debian package ${tool#*:})"; exit 1; }
done
[[ -x /usr/lib/cni/bridge ]] || { log "needs the CNI plugins in /usr/lib/cni (Debian package containernetworking-plugins)"; exit 1; }

"$NODE_DIR/build.sh"
"$K8S_RECIPE_DIR/build.sh" >/dev/null

started_ok=0
start_time=$SECONDS
on_exit() {
  if [[ $started_ok == 0 ]]; then
    log "start failed or interrupted; logs are in $run_dir/logs; tearing the node down"
    for name in containerd kubelet kube-scheduler kube-proxy coredns; do
      [[ -f "$run_dir/logs/$name.log" ]] || continue
      echo "---- last lines of $run_dir/logs/$name.log" >&2
      tail -n 15 "$run_dir/logs/$name.log" >&2
    done
    "$NODE_DIR/down.sh" "$run_dir" || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

node="$run_dir/node"
mkdir -p "$node"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs,pvs}
echo "$NODE_NAME $NODE_IP" > "$node/name"
pki="$run_dir/pki"
# shellcheck disable=SC2034  # (the server of k8s_write_kubeconfig)
APISERVER_URL="$K8S_APISERVER"
nice_cmd=()
[[ "${STEGO_K8S_NICE:-1}" == 0 ]] || nice_cmd=("${K8S_NICE[@]}")
start() {
  local name=$1; shift
  k8s_record "$name" "${nice_cmd[@]}" "$@"
  k8s_spawn "$name"
}
# wait_until WHAT COMPONENT COMMAND... : polls COMMAND until it succeeds, while
# COMPONENT lives, for at most K8S_READY_TIMEOUT s.
wait_until() {
  local what=$1 name=$2 deadline=$((SECONDS + K8S_READY_TIMEOUT)); shift 2
  until "$@" >/dev/null 2>&1; do
    k8s_alive "$name" || { log "$name exited (see $run_dir/logs/$name.log)"; return 1; }
    ((SECONDS < deadline)) || { log "no $what within ${K8S_READY_TIMEOUT}s"; return 1; }
    sleep 0.5
  done
  log "$what"
}

# ---------------------------------------------------------------- certificates
client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
# The kubelet's user is what the Node authorizer and NodeRestriction expect.
k8s_issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client_ext"
k8s_issue kubelet-serving "/CN=$NODE_NAME" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
# The users the default RBAC bindings grant these components' permissions.
k8s_issue kube-scheduler "/CN=system:kube-scheduler" "$client_ext"
k8s_issue kube-proxy "/CN=system:kube-proxy" "$client_ext"
chmod 600 "$pki"/*.key
for c in kubelet kube-scheduler kube-proxy; do
  k8s_write_kubeconfig "$pki/$c.kubeconfig" "$c" "$c"
done

# ---------------------------------------------------------------- cgroups
# The pods' cgroups go under a parent of this run (the kubelet's cgroupRoot),
# so parallel nodes do not share /kubepods and down.sh removes all of it.
cgroup_root="/stego-node-${run_dir##*.}"
echo "$cgroup_root" > "$node/cgroup-root"
for hierarchy in /sys/fs/cgroup/*/; do
  [[ -f "$hierarchy/cgroup.procs" ]] || continue
  mkdir -p "$hierarchy$cgroup_root"
  if [[ -f "$hierarchy/cpuset.cpus" ]]; then
    # (a new v1 cpuset starts empty, and no task can join an empty one)
    cat "$hierarchy/cpuset.cpus" > "$hierarchy$cgroup_root/cpuset.cpus"
    cat "$hierarchy/cpuset.mems" > "$hierarchy$cgroup_root/cpuset.mems"
  fi
done

# ---------------------------------------------------------------- containerd
sock="$node/containerd/containerd.sock"
cat > "$node/containerd/config.toml" <<EOF
version = 2
root = "$node/containerd/root"
state = "$node/containerd/state"
# Plugins that would use the machine's /opt or need other filesystems.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  # Ours, imported below: nothing can be pulled.
  sandbox_image = "$NODE_PAUSE_IMAGE"
  # root lacks CAP_SYS_RESOURCE here: without it every sandbox fails with
  # "runc create failed: ... can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  # No profiles are loaded here (and no apparmor_parser).
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/cni/net.d"
EOF
# The pods' network: the bridge of node_net_up, which already holds the node
# IP (so isGateway is off; the pods' default route points at it), IPs from
# host-local with its state in the run directory, no masquerading (there is
# no outside network), hairpin so a pod reaches itself through a Service.
cat > "$node/cni/net.d/10-stego-node.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "stego-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$node/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
start containerd containerd --config "$node/containerd/config.toml"
wait_until "containerd answers" containerd node_ctr version
node_import_image "$NODE_IMAGES_CACHE/pause.tar" "${NODE_PAUSE_IMAGE%:*}"
node_import_image "$NODE_IMAGES_CACHE/busybox.tar" "${NODE_BUSYBOX_IMAGE%:*}"

# ---------------------------------------------------------------- kubelet
printf 'nameserver %s\n' "$NODE_IP" > "$node/resolv.conf"
cat > "$node/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The machine has cgroup v1 (hybrid), and no systemd to manage cgroups.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $cgroup_root
containerRuntimeEndpoint: unix://$sock
address: $NODE_IP
readOnlyPort: 0
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
# logs/exec: the API server's client certificate, checked against the CA and
# authorized by the API server (SubjectAccessReview).
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization:
  mode: Webhook
clusterDNS: [$NODE_IP]
clusterDomain: $NODE_CLUSTER_DOMAIN
resolvConf: $node/resolv.conf
podLogsDir: $node/pod-logs
hairpinMode: hairpin-veth
failSwapOn: false
# The machine's disk and memory are shared: evict nothing for them.
evictionHard: {memory.available: "0%", nodefs.available: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
EOF
start kubelet "$K8S_BIN/kubelet" \
  --config="$node/kubelet.yaml" \
  --kubeconfig="$pki/kubelet.kubeconfig" \
  --root-dir="$node/kubelet" \
  --hostname-override="$NODE_NAME" \
  --node-ip="$NODE_IP"

# ---------------------------------------------------------------- scheduler
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$pki/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$pki/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$pki/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --leader-elect=false

# ---------------------------------------------------------------- kube-proxy
cat > "$node/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $pki/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $NODE_POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Conntrack limits are machine-wide sysctls: leave them alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
start kube-proxy "$K8S_BIN/kube-proxy" --config="$node/kube-proxy.yaml"

# ---------------------------------------------------------------- CoreDNS
cat > "$node/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes $NODE_CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $run_dir/kubeconfig stego-test
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
    loadbalance
}
EOF
start coredns "$NODE_COREDNS_CACHE/bin/coredns" -conf "$node/Corefile"

# ---------------------------------------------------------------- ready
kubectl=("$K8S_BIN/kubectl" --kubeconfig "$run_dir/kubeconfig")
wait_until "kube-scheduler healthy" kube-scheduler curl -sfk https://127.0.0.1:10259/healthz
wait_until "node $NODE_NAME registered" kubelet "${kubectl[@]}" get node "$NODE_NAME"
wait_until "node $NODE_NAME Ready" kubelet "${kubectl[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
kube_proxy_rules() { iptables -w -t nat -S KUBE-SERVICES | grep -q -- "-d 10.96.0.1/32 .* --dport 443"; }
wait_until "kube-proxy's rule for 10.96.0.1:443" kube-proxy kube_proxy_rules
wait_until "CoreDNS ready" coredns curl -sf http://127.0.0.1:18181/ready
dns_answers() { [[ "$(/bin/busybox nslookup "kubernetes.default.svc.$NODE_CLUSTER_DOMAIN" "$NODE_IP" 2>/dev/null)" == *"Address: 10.96.0.1"* ]]; }
wait_until "CoreDNS answers kubernetes.default.svc" coredns dns_answers

# PersistentVolumes come from pvs.sh: local volumes (fsGroup applies to them,
# not to hostPath), bound when the first pod is scheduled.
"${kubectl[@]}" apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF

cat >> "$run_dir/env" <<EOF
# The real node (tests/k8s/node)
export STEGO_NODE_NAME='$NODE_NAME'
export STEGO_NODE_IP='$NODE_IP'
export STEGO_NODE_DIR='$node'
export STEGO_NODE_CONTAINERD_SOCK='$sock'
export STEGO_NODE_PAUSE_IMAGE='$NODE_PAUSE_IMAGE'
export STEGO_NODE_BUSYBOX_IMAGE='$NODE_BUSYBOX_IMAGE'
EOF
started_ok=1
log "node $NODE_NAME ($NODE_IP) is Ready after $((SECONDS - start_time)) s; images: import-image.sh FILE NAME, volumes: pvs.sh"
