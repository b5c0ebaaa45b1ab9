package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// notFound is how resolveInPod reports a name that getent could not resolve.
const notFound = "not found"

// resolveInPod resolves names the way a pod does: `getent ahostsv4` (glibc,
// with the resolv.conf of tests/k8s/netns.sh and so the pod runner's cluster
// DNS) in a one-shot sh pod. It returns each name's sorted, distinct
// addresses joined by commas, or notFound, and the pod's log.
func (r *runner) resolveInPod(t *testing.T, ctx context.Context, client kubernetes.Interface, names ...string) (map[string]string, string) {
	t.Helper()
	script := `for n in "$@"; do echo "== $n"; getent ahostsv4 "$n"; echo "rc=$?"; done`
	pod, err := client.CoreV1().Pods(namespace).Create(ctx, &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "dns-", Namespace: namespace},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers: []v1.Container{{
				Name: "main", Image: "sh", Command: append([]string{"/bin/sh", "-c", script, "sh"}, names...),
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, pod.Name+" to finish", func() (bool, string) {
		if pod, err = client.CoreV1().Pods(namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
			return false, err.Error()
		}
		return pod.Status.Phase == v1.PodSucceeded, describe(pod)
	})
	log := r.containerLog(t, pod, "main")
	// Polling makes many of these pods: their logs would bury the others'
	// in a failure's dump, which shows the last one's anyway.
	_ = os.RemoveAll(r.podLogDir(pod))
	_ = client.CoreV1().Pods(namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})

	answers := map[string]string{}
	name := ""
	addrs := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "== "):
			name, addrs = strings.TrimPrefix(line, "== "), map[string]bool{}
		case strings.HasPrefix(line, "rc="):
			answers[name] = strings.Join(slices.Sorted(maps.Keys(addrs)), ",")
			if line != "rc=0" {
				answers[name] = notFound
			}
		case len(fields) > 0:
			if _, err := netip.ParseAddr(fields[0]); err == nil {
				addrs[fields[0]] = true
			}
		}
	}
	return answers, log
}

// waitForDNS resolves want's names in pods until each answers as wanted
// (addresses sorted and joined by commas, or notFound).
func (r *runner) waitForDNS(t *testing.T, ctx context.Context, client kubernetes.Interface, what string, want map[string]string) time.Duration {
	t.Helper()
	names := slices.Sorted(maps.Keys(want))
	return waitFor(t, 30*time.Second, what, func() (bool, string) {
		got, log := r.resolveInPod(t, ctx, client, names...)
		return maps.Equal(got, want), fmt.Sprintf("got %v, want %v; the pod's log:\n%s", got, want, log)
	})
}

// podIPs are the pods' IPs, sorted and joined by commas.
func podIPs(pods ...*v1.Pod) string {
	var ips []string
	for _, p := range pods {
		ips = append(ips, p.Status.PodIP)
	}
	slices.Sort(ips)
	return strings.Join(ips, ",")
}
