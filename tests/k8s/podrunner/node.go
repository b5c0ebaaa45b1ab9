package main

import (
	"bufio"
	"context"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// The node-lifecycle controller marks a node unreachable (and taints it) when
// its Lease is not renewed within its grace period (tens of seconds); the
// kubelet renews every 10 s (a quarter of the 40 s lease) and so do we.
const (
	leaseDuration  = 40 * time.Second
	heartbeatEvery = 10 * time.Second
)

// registerNode creates our Node, or takes over an existing one of that name,
// and reports it Ready.
func (r *Runner) registerNode(ctx context.Context) (*v1.Node, error) {
	nodes := r.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, r.cfg.nodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err = nodes.Create(ctx, &v1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: r.cfg.nodeName,
				Labels: map[string]string{
					"kubernetes.io/hostname": r.cfg.nodeName,
					"kubernetes.io/os":       runtime.GOOS,
					"kubernetes.io/arch":     runtime.GOARCH,
				},
			},
			Spec: v1.NodeSpec{PodCIDR: r.cfg.podCIDR.String(), PodCIDRs: []string{r.cfg.podCIDR.String()}},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return nil, err
	}
	if err := r.updateNodeStatus(ctx); err != nil {
		return nil, err
	}
	log.Printf("node %s registered (pod CIDR %s, node IP %s)", r.cfg.nodeName, r.cfg.podCIDR, r.cfg.nodeIP)
	return node, nil
}

// updateNodeStatus reports the node Ready with its capacity and addresses,
// with a fresh heartbeat time. Controllers update the Node too (taints,
// annotations), so a conflict is retried on a fresh copy.
func (r *Runner) updateNodeStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return r.tryUpdateNodeStatus(ctx) })
}

func (r *Runner) tryUpdateNodeStatus(ctx context.Context) error {
	nodes := r.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, r.cfg.nodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	condition := func(t v1.NodeConditionType, status v1.ConditionStatus, reason, message string) v1.NodeCondition {
		c := v1.NodeCondition{Type: t, Status: status, Reason: reason, Message: message, LastHeartbeatTime: now, LastTransitionTime: now}
		for _, old := range node.Status.Conditions {
			if old.Type == t && old.Status == status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	capacity := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(memoryBytes(), resource.BinarySI),
		v1.ResourcePods:   *resource.NewQuantity(int64(r.ips.size()), resource.DecimalSI),
	}
	node.Status.Capacity = capacity
	node.Status.Allocatable = capacity
	node.Status.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: r.cfg.nodeIP.String()},
		{Type: v1.NodeHostName, Address: r.cfg.nodeName},
	}
	node.Status.Conditions = []v1.NodeCondition{
		condition(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "podrunner does not measure memory pressure"),
		condition(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "podrunner does not measure disk pressure"),
		condition(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "podrunner does not measure PID pressure"),
		condition(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "podrunner is posting ready status"),
	}
	node.Status.NodeInfo = v1.NodeSystemInfo{
		OperatingSystem:         runtime.GOOS,
		Architecture:            runtime.GOARCH,
		KubeletVersion:          r.cfg.kubeletVersion,
		ContainerRuntimeVersion: "podrunner://" + r.cfg.kubeletVersion,
	}
	_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// renewLease creates or renews the node's Lease in kube-node-lease, owned by
// the Node so that it goes when the Node goes.
func (r *Runner) renewLease(ctx context.Context, node *v1.Node) error {
	leases := r.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, r.cfg.nodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name:      r.cfg.nodeName,
				Namespace: v1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
				}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(r.cfg.nodeName),
				LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second)),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = ptr.To(r.cfg.nodeName)
	lease.Spec.LeaseDurationSeconds = ptr.To(int32(leaseDuration / time.Second))
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the Lease and the node status until ctx ends.
func (r *Runner) heartbeat(ctx context.Context, node *v1.Node) {
	beat := func() {
		beatCtx, cancel := context.WithTimeout(ctx, heartbeatEvery)
		defer cancel()
		if err := r.renewLease(beatCtx, node); err != nil && ctx.Err() == nil {
			log.Printf("node lease: %v", err)
		}
		if err := r.updateNodeStatus(beatCtx); err != nil && ctx.Err() == nil {
			log.Printf("node status: %v", err)
		}
	}
	beat()
	ticker := time.NewTicker(heartbeatEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			beat()
		}
	}
}

// memoryBytes is the machine's memory from /proc/meminfo (0 if unknown).
func memoryBytes() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kib, _ := strconv.ParseInt(fields[1], 10, 64)
			return kib * 1024
		}
	}
	return 0
}
