package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// env is what test.sh passes in.
type env struct {
	podrunner string // the pod runner binary
	imageDir  string // directory holding stego-worker
	artifacts string // logs of this run
}

func getEnv(t *testing.T) env {
	t.Helper()
	e := env{
		podrunner: os.Getenv("PODRUNNER_BIN"),
		imageDir:  os.Getenv("STEGO_WORKER_DIR"),
		artifacts: os.Getenv("PODRUNNER_ARTIFACTS"),
	}
	if e.podrunner == "" || e.imageDir == "" || e.artifacts == "" || os.Getenv("KUBECONFIG") == "" {
		t.Fatal("run through tests/k8s/podrunner/test.sh: needs KUBECONFIG, PODRUNNER_BIN, STEGO_WORKER_DIR and PODRUNNER_ARTIFACTS")
	}
	return e
}

// waitFor polls cond until it returns true, and fails the test with cond's
// last explanation after timeout. It returns how long it waited.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isReady(pod *v1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// describe is a one-line summary of a pod's status, for failure messages.
func describe(pod *v1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s uid=%s phase=%s ip=%s ready=%v", pod.Name, pod.UID, pod.Status.Phase, pod.Status.PodIP, isReady(pod))
	for _, c := range pod.Status.ContainerStatuses {
		fmt.Fprintf(&b, " [%s id=%s restarts=%d ready=%v", c.Name, c.ContainerID, c.RestartCount, c.Ready)
		switch s := c.State; {
		case s.Running != nil:
			b.WriteString(" running")
		case s.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s: %s", s.Waiting.Reason, s.Waiting.Message)
		case s.Terminated != nil:
			fmt.Fprintf(&b, " terminated %s code %d", s.Terminated.Reason, s.Terminated.ExitCode)
		}
		b.WriteString("]")
	}
	return b.String()
}

// pidOf reads the pid out of a pod runner containerID ("podrunner://<pid>").
func pidOf(t *testing.T, containerID string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(containerID, "podrunner://"))
	if err != nil || !strings.HasPrefix(containerID, "podrunner://") {
		t.Fatalf("containerID %q does not name a pod runner process", containerID)
	}
	return pid
}

// groupGone tells whether no process is left in process group pgid.
func groupGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// sliceEndpoints maps each address in a Service's EndpointSlices to its
// ready condition.
func sliceEndpoints(ctx context.Context, client kubernetes.Interface, namespace, service string) (map[string]bool, error) {
	slices, err := client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + service,
	})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, slice := range slices.Items {
		for _, ep := range slice.Endpoints {
			for _, addr := range ep.Addresses {
				out[addr] = ep.Conditions.Ready != nil && *ep.Conditions.Ready
			}
		}
	}
	return out, nil
}

func readyAddresses(endpoints map[string]bool) []string {
	var out []string
	for addr, ready := range endpoints {
		if ready {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// request does an HTTP request to a pod and returns the status code and body.
func request(method, url, bearer, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// runner is the pod runner process under test.
type runner struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	logDir  string
	podDir  string // --pod-dir: <uid>/ per pod, with its emptyDir volumes
}

func startRunner(t *testing.T, e env, args ...string) *runner {
	t.Helper()
	logPath := filepath.Join(e.artifacts, "podrunner.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	r := &runner{exited: make(chan struct{}), logPath: logPath, logDir: filepath.Join(e.artifacts, "pods"), podDir: filepath.Join(e.artifacts, "state")}
	r.cmd = exec.Command(e.podrunner, append([]string{
		"--log-dir", r.logDir,
		"--pod-dir", r.podDir,
		"--image-dir", e.imageDir,
	}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	// If this test dies, the runner shuts down (and takes its pods along).
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			<-r.exited
		}
		if t.Failed() {
			r.dumpLogs(t)
		}
	})
	return r
}

// dumpLogs prints the runner's log and the end of every container log.
func (r *runner) dumpLogs(t *testing.T) {
	if b, err := os.ReadFile(r.logPath); err == nil {
		t.Logf("---- %s\n%s", r.logPath, b)
	}
	_ = filepath.WalkDir(r.logDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("---- %s (end)\n%s", path, b)
		return nil
	})
}

// podLogDir holds a pod's container logs (one directory per pod UID).
func (r *runner) podLogDir(pod *v1.Pod) string {
	return filepath.Join(r.logDir, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}

// containerLog is the log file of a pod's container.
func (r *runner) containerLog(t *testing.T, pod *v1.Pod, container string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.podLogDir(pod), container+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
