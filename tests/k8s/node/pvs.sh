#!/usr/bin/env bash
# Creates PersistentVolumes on the real test node for PVCs to bind: there is
# no dynamic provisioner, so tests make the volumes their pods will claim.
#
#   tests/k8s/node/pvs.sh COUNT SIZE [CLASS]      e.g. pvs.sh 3 1Gi local
#
# Each is a `local` volume (the kubelet applies a pod's fsGroup to it, which
# it does not for hostPath) backed by a new directory
# $STEGO_NODE_DIR/pvs/<name>, with node affinity to the node, in
# StorageClass CLASS (default "local", made by up.sh: WaitForFirstConsumer,
# Retain). Prints the PV names. The directories stay after a pod is gone, so
# a test can read what the pod wrote. Needs the env of run.sh --node.
set -euo pipefail

case "${1:-}" in ""|-h|--help) sed -n '2,12p' "$0"; [[ $# -gt 0 ]]; exit ;; esac
count=$1 size=$2 class=${3:-local}
: "${STEGO_NODE_DIR:?run inside tests/k8s/controlplane/run.sh --node}"
[[ "$count" =~ ^[0-9]+$ ]] || { echo "pvs.sh: COUNT must be a number: $count" >&2; exit 2; }

for ((i = 0; i < count; i++)); do
  name="stego-pv-$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')"
  dir="$STEGO_NODE_DIR/pvs/$name"
  mkdir "$dir"
  # (the pod's fsGroup decides the group; others need no access)
  chmod 770 "$dir"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $class
  local: {path: $dir}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$STEGO_NODE_NAME]}
YAML
  echo "$name"
done
