// Package e2e tests the pod runner against a real control plane: the real
// StatefulSet, EndpointSlice and node-lifecycle controllers act on pods that
// the pod runner runs as real stego-worker processes. Run it through
// tests/k8s/podrunner/test.sh (network namespace, control plane, binaries).
package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	namespace = "default"
	nodeName  = "podrunner-e2e"
	adminKey  = "e2e-admin-key"
	// Long enough that a container stopped by SIGKILL after the grace period
	// cannot pass for one that exited on SIGTERM.
	workerGrace = 20
)

var podCIDR = netip.MustParsePrefix("10.244.0.0/24") // the pod runner's default

func TestPodRunner(t *testing.T) {
	e := getEnv(t)
	restConfig, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	// No client-side throttling: it would dominate the latencies measured.
	restConfig.QPS, restConfig.Burst = 1000, 1000
	client := kubernetes.NewForConfigOrDie(restConfig)
	ctx := context.Background()
	testStart := time.Now()
	// A short back-off keeps the crash-loop check quick; the rule is the same.
	// The cluster DNS is the one netns.sh's resolv.conf names.
	r := startRunner(t, e, "--node-name", nodeName, "--backoff-initial", "1s", "--cluster-dns", "10.244.0.1:53")
	seenPIDs := map[int]bool{} // every container process seen: none may survive the runner
	var firstRenew time.Time   // the node Lease's first renewTime

	getPod := func(t *testing.T, name string) *v1.Pod {
		t.Helper()
		pod, err := client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return pod
	}
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow() // later steps build on this one
		}
	}

	step("NodeRegistersReady", func(t *testing.T) {
		d := waitFor(t, 30*time.Second, "node Ready", func() (bool, string) {
			node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, c := range node.Status.Conditions {
				if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
					return true, ""
				}
			}
			return false, "not Ready"
		})
		t.Logf("node %s Ready %s after the runner started", nodeName, d.Round(time.Millisecond))
		waitFor(t, 10*time.Second, "the node's Lease", func() (bool, string) {
			lease, err := client.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, nodeName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			firstRenew = lease.Spec.RenewTime.Time
			return true, ""
		})
	})

	createFixtures(t, ctx, client)
	createVolumeFixtures(t, ctx, client)

	step("StatefulSetPodsBecomeReady", func(t *testing.T) {
		start := time.Now()
		var pods []v1.Pod
		waitFor(t, 90*time.Second, "3 Ready stego pods", func() (bool, string) {
			list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=stego"})
			if err != nil {
				return false, err.Error()
			}
			pods = list.Items
			var states []string
			ready := 0
			for i := range pods {
				states = append(states, describe(&pods[i]))
				if isReady(&pods[i]) {
					ready++
				}
			}
			return len(pods) == 3 && ready == 3, strings.Join(states, "; ")
		})
		t.Logf("3 StatefulSet pods Ready %s after creating the StatefulSet", time.Since(start).Round(time.Millisecond))
		ips := map[string]bool{}
		for i := range pods {
			pod := &pods[i]
			checkRunningPod(t, pod)
			ips[pod.Status.PodIP] = true
			seenPIDs[pidOf(t, pod.Status.ContainerStatuses[0].ContainerID)] = true
			// The real worker serves on its own pod IP, under the identity the
			// downward API gave it.
			code, body, err := request("GET", "http://"+pod.Status.PodIP+":8080/metrics", "", "")
			if err != nil || code != 200 || !strings.Contains(body, `node="`+pod.Name+`"`) {
				t.Errorf("%s: GET /metrics on its pod IP: %d %v; want 200 with node=%q", pod.Name, code, err, pod.Name)
			}
		}
		if len(ips) != 3 {
			t.Errorf("pod IPs are not distinct: %v", ips)
		}
	})

	step("ClusterDNSResolvesServicesInPods", func(t *testing.T) {
		stego0, stego1, stego2 := getPod(t, "stego-0"), getPod(t, "stego-1"), getPod(t, "stego-2")
		svcA, err := client.CoreV1().Services(namespace).Get(ctx, "stego-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d := r.waitForDNS(t, ctx, client, "names to resolve in a pod", map[string]string{
			"stego.default.svc":               podIPs(stego0, stego1, stego2), // headless: the ready endpoints
			"stego-all.default.svc":           podIPs(stego0, stego1, stego2),
			"STEGO-0.stego.default.svc":       podIPs(stego0), // a StatefulSet pod's own name, any case
			"stego-2.stego.default.svc":       podIPs(stego2),
			"stego-a.default.svc":             svcA.Spec.ClusterIP, // ClusterIP: the Service's address
			"stego.default.svc.cluster.local": podIPs(stego0, stego1, stego2),
			"nosuch.default.svc":              notFound,
			"stego-9.stego.default.svc":       notFound,
		})
		t.Logf("a pod resolved every name as wanted %s after the pods were Ready", d.Round(time.Millisecond))
	})

	step("EndpointSliceListsExactlyTheReadyPods", func(t *testing.T) {
		want := func() []string {
			list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=stego,tier=a"})
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			for i := range list.Items {
				if isReady(&list.Items[i]) {
					ips = append(ips, list.Items[i].Status.PodIP)
				}
			}
			slices.Sort(ips)
			return ips
		}
		// matches: the Service's ready endpoints are exactly the ready pods
		// of its selector, and addresses holds every address (ready or not).
		matches := func(service string, pods []string, addresses int) func() (bool, string) {
			return func() (bool, string) {
				eps, err := sliceEndpoints(ctx, client, namespace, service)
				if err != nil {
					return false, err.Error()
				}
				got := readyAddresses(eps)
				return slices.Equal(got, pods) && len(eps) == addresses, service + " ready endpoints " + strings.Join(got, ",") + " want " + strings.Join(pods, ",")
			}
		}
		all := want()
		d := waitFor(t, 30*time.Second, "stego-a's EndpointSlice", matches("stego-a", all, 3))
		t.Logf("stego-a lists %v (%s after the pods were Ready)", all, d.Round(time.Millisecond))
		waitFor(t, 5*time.Second, "stego-b empty", matches("stego-b", nil, 0))

		// Make stego-1's readiness probe fail: the worker's fault injection
		// answers 503 on /readyz while paused.
		pod := getPod(t, "stego-1")
		url := "http://" + pod.Status.PodIP + ":8080/admin/"
		if code, body, err := request("POST", url+"fail", adminKey, `{"action":"pause"}`); err != nil || code != 200 {
			t.Fatalf("pausing stego-1: %d %s %v", code, body, err)
		}
		start := time.Now()
		waitFor(t, 20*time.Second, "stego-1 not Ready", func() (bool, string) {
			p := getPod(t, "stego-1")
			return !isReady(p), describe(p)
		})
		unready := want()
		if len(unready) != 2 {
			t.Fatalf("ready pods after pausing stego-1: %v, want 2", unready)
		}
		waitFor(t, 20*time.Second, "stego-1 not ready in stego-a's EndpointSlice", matches("stego-a", unready, 3))
		t.Logf("readiness failure reached the EndpointSlice %s after pausing", time.Since(start).Round(time.Millisecond))
		// The cluster DNS follows the slices: the headless Service's name
		// drops the unready pod, the one that publishes unready addresses
		// keeps it.
		stego0, stego2 := getPod(t, "stego-0"), getPod(t, "stego-2")
		polled := r.waitForDNS(t, ctx, client, "DNS without the unready stego-1", map[string]string{
			"stego.default.svc":         podIPs(stego0, stego2),
			"stego-all.default.svc":     podIPs(stego0, pod, stego2),
			"stego-1.stego.default.svc": notFound,
		})
		t.Logf("a pod resolved the names without stego-1 %s after pausing it (%s of polling)", time.Since(start).Round(time.Millisecond), polled.Round(time.Millisecond))
		if code, body, err := request("POST", url+"restore", adminKey, ""); err != nil || code != 200 {
			t.Fatalf("restoring stego-1: %d %s %v", code, body, err)
		}
		waitFor(t, 20*time.Second, "stego-1 ready again in stego-a's EndpointSlice", matches("stego-a", all, 3))
		r.waitForDNS(t, ctx, client, "DNS with stego-1 back", map[string]string{"stego.default.svc": strings.Join(all, ",")})
		if p := getPod(t, "stego-1"); p.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("a readiness failure restarted the container: %s", describe(p))
		}
	})

	step("RelabelMovesPodBetweenServices", func(t *testing.T) {
		ip := getPod(t, "stego-0").Status.PodIP
		var latencies []time.Duration
		from := "a"
		for _, to := range []string{"b", "a", "b", "a", "b", "a"} {
			start := time.Now()
			patch := []byte(`{"metadata":{"labels":{"tier":"` + to + `"}}}`)
			if _, err := client.CoreV1().Pods(namespace).Patch(ctx, "stego-0", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "stego-0 to move from stego-"+from+" to stego-"+to, func() (bool, string) {
				old, err := sliceEndpoints(ctx, client, namespace, "stego-"+from)
				if err != nil {
					return false, err.Error()
				}
				moved, err := sliceEndpoints(ctx, client, namespace, "stego-"+to)
				if err != nil {
					return false, err.Error()
				}
				_, stillThere := old[ip]
				return !stillThere && moved[ip], "old " + strings.Join(readyAddresses(old), ",") + " new " + strings.Join(readyAddresses(moved), ",")
			})
			latencies = append(latencies, time.Since(start))
			from = to
		}
		sorted := slices.Clone(latencies)
		slices.Sort(sorted)
		t.Logf("relabel → both EndpointSlices updated, %d moves: %v (min %s, median %s, max %s)", len(latencies), latencies,
			sorted[0].Round(time.Millisecond), sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	})

	step("KilledWorkerIsRestarted", func(t *testing.T) {
		pod := getPod(t, "stego-1")
		oldPID := pidOf(t, pod.Status.ContainerStatuses[0].ContainerID)
		start := time.Now()
		if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "stego-1 restarted and Ready", func() (bool, string) {
			pod = getPod(t, "stego-1")
			c := pod.Status.ContainerStatuses[0]
			return c.RestartCount == 1 && c.State.Running != nil && isReady(pod), describe(pod)
		})
		t.Logf("killed pid %d; stego-1 was running and Ready again %s later", oldPID, time.Since(start).Round(time.Millisecond))
		c := pod.Status.ContainerStatuses[0]
		last := c.LastTerminationState.Terminated
		if last == nil || last.ExitCode != 137 || last.Signal != 9 || last.Reason != "Error" {
			t.Errorf("lastState.terminated = %+v, want exit code 137 (signal 9), reason Error", last)
		}
		newPID := pidOf(t, c.ContainerID)
		seenPIDs[newPID] = true
		if newPID == oldPID || !groupGone(oldPID) {
			t.Errorf("old pid %d (gone: %v), new pid %d", oldPID, groupGone(oldPID), newPID)
		}
		if pod.UID != getPod(t, "stego-1").UID {
			t.Error("the pod was replaced instead of its container restarted")
		}
	})

	step("DeletedPodGetsSIGTERMAndIsRecreated", func(t *testing.T) {
		old := getPod(t, "stego-2")
		oldPID := pidOf(t, old.Status.ContainerStatuses[0].ContainerID)
		start := time.Now()
		if err := client.CoreV1().Pods(namespace).Delete(ctx, "stego-2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Well inside the grace period: it ended on SIGTERM, not on the
		// SIGKILL that follows the grace period.
		d := waitFor(t, workerGrace*time.Second/2, "the deleted pod's process to exit", func() (bool, string) {
			return groupGone(oldPID), "still running"
		})
		t.Logf("deleted stego-2: its worker exited %s later (grace %ds)", d.Round(time.Millisecond), workerGrace)
		if log := r.containerLog(t, old, "worker"); !strings.Contains(log, "Terminated: finishing in-flight requests") {
			t.Errorf("the worker's log shows no SIGTERM:\n%s", log)
		}
		var pod *v1.Pod
		waitFor(t, 60*time.Second, "a new stego-2 Ready", func() (bool, string) {
			var err error
			if pod, err = client.CoreV1().Pods(namespace).Get(ctx, "stego-2", metav1.GetOptions{}); err != nil {
				return false, err.Error() // between the old pod's removal and the new one's creation
			}
			return pod.UID != old.UID && isReady(pod), describe(pod)
		})
		t.Logf("the StatefulSet controller's new stego-2 was Ready %s after the deletion", time.Since(start).Round(time.Millisecond))
		checkRunningPod(t, pod)
		seenPIDs[pidOf(t, pod.Status.ContainerStatuses[0].ContainerID)] = true
	})

	step("OneShotPodsSucceedOrFail", func(t *testing.T) {
		var env *v1.Pod
		waitFor(t, 30*time.Second, "envpod Succeeded", func() (bool, string) {
			env = getPod(t, "envpod")
			return env.Status.Phase == v1.PodSucceeded, describe(env)
		})
		checkTerminatedPod(t, env, 0, "Completed")
		log := r.containerLog(t, env, "main")
		for _, line := range []string{
			"POD_NAME=envpod", "POD_NAMESPACE=" + namespace, "POD_IP=" + env.Status.PodIP, "NODE_NAME=" + nodeName,
			"ROLE=tester", "ADMIN_KEY=" + adminKey, "GREETING=hello", "CFG_greeting=hello", "CFG_level=debug",
			"COMBINED=envpod-hello-$(UNDEFINED)", "ARGS=envpod $(POD_NAME)", "HOSTNAME=envpod",
		} {
			if !slices.Contains(strings.Split(log, "\n"), line) {
				t.Errorf("envpod's environment lacks %q; its log:\n%s", line, log)
			}
		}
		var failed *v1.Pod
		waitFor(t, 30*time.Second, "failpod Failed", func() (bool, string) {
			failed = getPod(t, "failpod")
			return failed.Status.Phase == v1.PodFailed, describe(failed)
		})
		checkTerminatedPod(t, failed, 3, "Error")
	})

	step("CordonedNodeBindsNothingAndPreStopHooksRunBeforeSIGTERM", func(t *testing.T) {
		setUnschedulable := func(value bool) {
			t.Helper()
			patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, value)
			if _, err := client.CoreV1().Nodes().Patch(ctx, nodeName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		setUnschedulable(true)
		// The hook leaves a mark in the pod's directory (the container's working directory);
		// the container says, on SIGTERM, whether the mark was there already.
		pod := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "hookpod", Namespace: namespace},
			Spec: v1.PodSpec{Containers: []v1.Container{{
				Name: "main", Image: "sh",
				Command: []string{"/bin/sh", "-c", `trap 'test -f hook-ran && echo "SIGTERM after the hook"; exit 0' TERM; while :; do sleep 0.1; done`},
				Lifecycle: &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Exec: &v1.ExecAction{
					Command: []string{"/bin/sh", "-c", "touch hook-ran"},
				}}},
			}}},
		}
		if _, err := client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Two of the runner's cordoned retries: still pending.
		time.Sleep(5 * time.Second)
		if got := getPod(t, "hookpod"); got.Spec.NodeName != "" {
			t.Fatalf("hookpod was bound to the cordoned node %s", got.Spec.NodeName)
		}
		setUnschedulable(false)
		waitFor(t, 30*time.Second, "hookpod Running once the node is uncordoned", func() (bool, string) {
			got := getPod(t, "hookpod")
			return got.Status.Phase == v1.PodRunning, describe(got)
		})
		running := getPod(t, "hookpod")
		if err := client.CoreV1().Pods(namespace).Delete(ctx, "hookpod", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "hookpod gone", func() (bool, string) {
			_, err := client.CoreV1().Pods(namespace).Get(ctx, "hookpod", metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
		if log := r.containerLog(t, running, "main"); !strings.Contains(log, "SIGTERM after the hook") {
			t.Errorf("the container got SIGTERM before its preStop hook ran; its log:\n%s", log)
		}
	})

	step("CrashingContainerBacksOff", func(t *testing.T) {
		var pod *v1.Pod
		waitFor(t, 30*time.Second, "crashpod in CrashLoopBackOff", func() (bool, string) {
			pod = getPod(t, "crashpod")
			c := pod.Status.ContainerStatuses
			return len(c) == 1 && c[0].State.Waiting != nil && c[0].State.Waiting.Reason == "CrashLoopBackOff", describe(pod)
		})
		c := pod.Status.ContainerStatuses[0]
		if last := c.LastTerminationState.Terminated; last == nil || last.ExitCode != 3 || c.RestartCount < 1 ||
			c.Ready || pod.Status.Phase != v1.PodRunning || isReady(pod) {
			t.Errorf("in back-off: %s; want phase Running, not ready, restarts ≥ 1, last exit code 3", describe(pod))
		}
		restarts := c.RestartCount
		waitFor(t, 30*time.Second, "crashpod restarted after its back-off", func() (bool, string) {
			pod = getPod(t, "crashpod")
			return pod.Status.ContainerStatuses[0].RestartCount > restarts, describe(pod)
		})
	})

	step("ProbesDriveReadinessAndRestarts", func(t *testing.T) {
		waitFor(t, 30*time.Second, "probepod Ready (exec readiness probe)", func() (bool, string) {
			pod := getPod(t, "probepod")
			return isReady(pod), describe(pod)
		})
		waitFor(t, 30*time.Second, "probepod restarted by its liveness probe", func() (bool, string) {
			pod := getPod(t, "probepod")
			c := pod.Status.ContainerStatuses
			if len(c) != 1 || c[0].RestartCount < 1 || c[0].LastTerminationState.Terminated == nil {
				return false, describe(pod)
			}
			last := c[0].LastTerminationState.Terminated
			// SIGTERM ends sleep: 128+15.
			return last.ExitCode == 143 && strings.Contains(last.Message, "liveness probe failed"), describe(pod)
		})
	})

	step("EmptyDirVolumesArePrivateAndKept", func(t *testing.T) { testEmptyDirs(t, ctx, client, r, seenPIDs) })

	step("NodeStaysHealthy", func(t *testing.T) {
		waitFor(t, 30*time.Second, "no not-ready/unreachable taint", func() (bool, string) {
			node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, taint := range node.Spec.Taints {
				if taint.Key == v1.TaintNodeNotReady || taint.Key == v1.TaintNodeUnreachable {
					return false, "tainted " + taint.ToString()
				}
			}
			return true, ""
		})
		// The heartbeat: the Lease is renewed every 10 s.
		waitFor(t, 15*time.Second, "the node's Lease to be renewed", func() (bool, string) {
			lease, err := client.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, nodeName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return lease.Spec.RenewTime.After(firstRenew), "renewTime " + lease.Spec.RenewTime.String()
		})
	})

	step("ShutdownLeavesNoProcesses", func(t *testing.T) {
		list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + nodeName})
		if err != nil {
			t.Fatal(err)
		}
		for _, pod := range list.Items {
			for _, c := range pod.Status.ContainerStatuses {
				if c.State.Running != nil {
					seenPIDs[pidOf(t, c.ContainerID)] = true
				}
			}
		}
		start := time.Now()
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			t.Fatal("the pod runner did not exit within 30 s of SIGTERM")
		}
		t.Logf("the pod runner stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
		if code := r.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("pod runner exit code %d", code)
		}
		for pid := range seenPIDs {
			if !groupGone(pid) {
				t.Errorf("process group %d outlived the pod runner", pid)
			}
		}
		out, err := exec.Command("ip", "-o", "-4", "addr", "show", "dev", "lo").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range strings.Fields(string(out)) {
			if p, err := netip.ParsePrefix(field); err == nil && podCIDR.Contains(p.Addr()) {
				t.Errorf("address %s is still on lo", field)
			}
		}
	})
	t.Logf("whole test: %s", time.Since(testStart).Round(time.Millisecond))
}
