#!/usr/bin/env bash
# Stops the real test node of a run (tests/k8s/node/up.sh) and everything it
# started: the node's components, every pod's containers and their containerd
# shims, the pods' network namespaces and mounts, the node's cgroups.
#
#   tests/k8s/node/down.sh RUN_DIR
#
# Leaves the control plane and RUN_DIR itself (logs) to
# tests/k8s/controlplane/down.sh, which runs after it. Fails if a process,
# a mount or a cgroup of the node is left. Safe to run twice and on a partly
# started node.
set -uo pipefail

case "${1:-}" in ""|-h|--help) sed -n '2,11p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
run_dir="$1"
log() { echo "node/down: $*" >&2; }
[[ -d "$run_dir/node" ]] || exit 0
run_dir="$(cd "$run_dir" && pwd)"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || true  # (the stop functions come first)
shopt -s globstar nullglob
node="$run_dir/node"
status=0

# The kubelet first, so it restarts nothing; then the pods, through containerd
# (which ends their shims); then the rest.
k8s_stop kubelet || status=1
netns_files=()
if k8s_alive containerd; then
  # (containerd leaves the sandboxes' network namespaces when torn down this way)
  mapfile -t netns_files < <(node_sandbox_netns)
  mapfile -t containers < <(node_ctr containers list --quiet 2>/dev/null)
  for id in "${containers[@]}"; do
    node_ctr tasks kill --all --signal SIGKILL "$id" >/dev/null 2>&1
  done
  for id in "${containers[@]}"; do
    deadline=$((SECONDS + K8S_STOP_TIMEOUT))
    until node_ctr tasks delete --force "$id" >/dev/null 2>&1 ||
          ! node_ctr tasks list --quiet 2>/dev/null | grep -qx "$id"; do
      ((SECONDS < deadline)) || { log "task $id does not go away"; status=1; break; }
      sleep 0.2
    done
    node_ctr containers delete "$id" >/dev/null 2>&1
  done
fi
for name in kube-proxy kube-scheduler coredns containerd; do
  k8s_stop "$name" || status=1
done

# Whatever survived: shims (each wrote its pid) and processes in the pods' cgroups.
for f in "$node"/containerd/state/io.containerd.runtime.v2.task/k8s.io/*/shim.pid; do
  [[ -s "$f" ]] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then log "killing shim $pid"; kill -KILL "$pid" 2>/dev/null; fi
done
cgroup_root="$(cat "$node/cgroup-root" 2>/dev/null)"
if [[ -n "$cgroup_root" ]]; then
  for procs in /sys/fs/cgroup/*"$cgroup_root"/**/cgroup.procs; do
    while read -r pid; do log "killing pod process $pid"; kill -KILL "$pid" 2>/dev/null; done < "$procs"
  done
fi

# Mounts: the containers' root filesystems, the kubelet's volumes, the
# sandboxes' /dev/shm and network namespaces. Deepest first.
for ns in "${netns_files[@]}"; do
  umount "$ns" 2>/dev/null
  rm -f "$ns"
done
deadline=$((SECONDS + K8S_STOP_TIMEOUT))
while mapfile -t mounts < <(findmnt -rn -o TARGET | grep -F "$node/" | sort -r) && ((${#mounts[@]} > 0)); do
  if ((SECONDS >= deadline)); then log "still mounted: ${mounts[*]}"; status=1; break; fi
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done

# The cgroups, deepest first (rmdir fails while a process is still inside).
if [[ -n "$cgroup_root" ]]; then
  deadline=$((SECONDS + K8S_STOP_TIMEOUT))
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -d "$hierarchy$cgroup_root" ]] || continue
    until find "$hierarchy$cgroup_root" -depth -type d -exec rmdir {} + 2>/dev/null; [[ ! -d "$hierarchy$cgroup_root" ]]; do
      ((SECONDS < deadline)) || { log "cgroup $hierarchy$cgroup_root is still in use"; status=1; break; }
      sleep 0.2
    done
  done
fi

if ((status == 0)); then
  log "node stopped"
else
  log "node not fully stopped; see above"
fi
exit "$status"
