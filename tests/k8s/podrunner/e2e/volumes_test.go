package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

const (
	// The emptyDir mountPath of the stego workers and of the vol pods.
	volumePath = "/var/lib/stego-e2e"
	// A read-only mount of the vol pods' volume at a top-level directory that
	// the machine does not have: the pod runner mounts a new root for it.
	readOnlyPath = "/podrunner-e2e-ro"
)

func emptyDirVolume(name string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}
}

// createVolumeFixtures creates the StatefulSet "vol" of two sh pods with an
// emptyDir, and a pod that mounts a ConfigMap volume (refused).
func createVolumeFixtures(t *testing.T, ctx context.Context, client kubernetes.Interface) {
	t.Helper()
	for _, path := range []string{volumePath, readOnlyPath} {
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s exists on this machine (%v): the check that pods leave nothing there would prove nothing; remove it", path, err)
		}
	}
	// Each run appends to runs, marks its pod in the volume, prints what it
	// sees, and is ready once the exec probe finds "ready" in the volume.
	script := fmt.Sprintf(`d=%s
echo "$POD_NAME" >> $d/runs
touch $d/own-$POD_NAME
echo "listing: $(ls $d | tr '\n' ' ')"
echo "runs: $(wc -l < $d/runs)"
if touch %[2]s/x 2>/dev/null; then echo "read-only view: writable"; else echo "read-only view: $(ls %[2]s | tr '\n' ' ')"; fi
touch $d/ready
exec sleep 1000`, volumePath, readOnlyPath)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "vol", Namespace: namespace},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(2)),
			ServiceName:         "vol",
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "vol"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "vol"}},
				Spec: v1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To(int64(5)),
					Containers: []v1.Container{{
						Name: "main", Image: "sh", Command: []string{"/bin/sh", "-c", script},
						Env: []v1.EnvVar{{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
						VolumeMounts: []v1.VolumeMount{
							{Name: "data", MountPath: volumePath},
							{Name: "data", MountPath: readOnlyPath, ReadOnly: true},
						},
						ReadinessProbe: &v1.Probe{
							ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"test", "-f", volumePath + "/ready"}}},
							PeriodSeconds: 1,
						},
					}},
					Volumes: []v1.Volume{
						emptyDirVolume("data"),
						// Declared, mounted by no container: not in the way.
						{Name: "settings", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
							LocalObjectReference: v1.LocalObjectReference{Name: "e2e-config"},
						}}},
					},
				},
			},
		},
	}
	if _, err := client.AppsV1().StatefulSets(namespace).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	refused := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "cmvolpod", Namespace: namespace},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers: []v1.Container{{
				Name: "main", Image: "sh", Command: []string{"/bin/sh", "-c", "ls /etc/e2e"},
				VolumeMounts: []v1.VolumeMount{{Name: "settings", MountPath: "/etc/e2e"}},
			}},
			Volumes: sts.Spec.Template.Spec.Volumes[1:],
		},
	}
	if _, err := client.CoreV1().Pods(namespace).Create(ctx, refused, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// testEmptyDirs is the step that checks emptyDir volumes: each pod sees its
// own at the mountPath, a container restart keeps it, the pod's deletion
// removes it, and the machine sees nothing at the mountPath.
func testEmptyDirs(t *testing.T, ctx context.Context, client kubernetes.Interface, r *runner, seenPIDs map[int]bool) {
	getPod := func(name string) (*v1.Pod, error) {
		return client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	// waitReady waits for a Ready pod of that name, other than the one with
	// UID not (if given), and returns it.
	waitReady := func(name string, not *v1.Pod) *v1.Pod {
		var pod *v1.Pod
		waitFor(t, 60*time.Second, name+" Ready", func() (bool, string) {
			var err error
			if pod, err = getPod(name); err != nil {
				return false, err.Error()
			}
			return (not == nil || pod.UID != not.UID) && isReady(pod), describe(pod)
		})
		seenPIDs[pidOf(t, pod.Status.ContainerStatuses[0].ContainerID)] = true
		return pod
	}
	// lastRun waits until the pod's latest run has printed all its lines and
	// returns them by their label ("listing", "runs", "read-only view").
	lastRun := func(pod *v1.Pod) map[string]string {
		var lines map[string]string
		waitFor(t, 20*time.Second, pod.Name+"'s output", func() (bool, string) {
			log := r.containerLog(t, pod, "main")
			runs := strings.Split(log, "---- podrunner: run ")
			lines = map[string]string{}
			for _, line := range strings.Split(runs[len(runs)-1], "\n") {
				if label, value, ok := strings.Cut(line, ": "); ok {
					lines[label] = value
				}
			}
			return len(runs) == int(pod.Status.ContainerStatuses[0].RestartCount)+2 && lines["read-only view"] != "", log
		})
		return lines
	}
	// checkOwnFiles: the volume holds this pod's files only, at both paths.
	checkOwnFiles := func(pod *v1.Pod, lines map[string]string, runs string) {
		t.Helper()
		own := "own-" + pod.Name
		for _, label := range []string{"listing", "read-only view"} {
			files := strings.Fields(lines[label])
			if !slices.Contains(files, own) || slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, "own-") && f != own }) {
				t.Errorf("%s sees %s: %q; want its own file %s and no other pod's", pod.Name, label, lines[label], own)
			}
		}
		if lines["runs"] != runs {
			t.Errorf("%s counts %q runs in its volume, want %s", pod.Name, lines["runs"], runs)
		}
	}
	volumeDir := func(pod *v1.Pod) string {
		return filepath.Join(r.podDir, string(pod.UID), "volumes", "kubernetes.io~empty-dir", "data")
	}

	// Two pods of a StatefulSet, one mountPath: each sees its own volume,
	// read-write and read-only; the exec readiness probe sees it too.
	vol0, vol1 := waitReady("vol-0", nil), waitReady("vol-1", nil)
	for _, pod := range []*v1.Pod{vol0, vol1} {
		checkOwnFiles(pod, lastRun(pod), "1")
		// The service-account token volume the admission plugin adds is
		// left unmounted, as before, and does not stop the pod.
		if !slices.ContainsFunc(pod.Spec.Volumes, func(v v1.Volume) bool { return strings.HasPrefix(v.Name, "kube-api-access-") }) {
			t.Errorf("%s has no service-account token volume (did the control plane stop adding it?): that case went untested", pod.Name)
		}
	}

	// The workers' --data-dir is their pod's emptyDir: in each worker's
	// mount table, its own pod's directory is mounted there.
	workers, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=stego"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range workers.Items {
		pod := &workers.Items[i]
		pid := pidOf(t, pod.Status.ContainerStatuses[0].ContainerID)
		mounts := mountTable(t, fmt.Sprintf("/proc/%d/mountinfo", pid))
		suffix := "/" + string(pod.UID) + "/volumes/kubernetes.io~empty-dir/data"
		if root, ok := mounts[volumePath]; !ok || !strings.HasSuffix(root, suffix) {
			t.Errorf("%s (pid %d): %s is mounted from %q, want its pod's directory …%s", pod.Name, pid, volumePath, root, suffix)
		}
		if _, err := os.Stat(volumeDir(pod)); err != nil {
			t.Errorf("%s: its emptyDir: %v", pod.Name, err)
		}
	}

	// Nothing at the mountPaths outside the containers.
	checkNothingOnTheMachine := func() {
		t.Helper()
		ours := mountTable(t, "/proc/self/mountinfo")
		for _, path := range []string{volumePath, readOnlyPath} {
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s appeared outside the containers (%v)", path, err)
			}
			if _, mounted := ours[path]; mounted {
				t.Errorf("%s is mounted in the test's own mount namespace", path)
			}
		}
	}
	checkNothingOnTheMachine()

	// kill -9: the restarted container finds its volume as it was.
	oldPID := pidOf(t, vol0.Status.ContainerStatuses[0].ContainerID)
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d := waitFor(t, 30*time.Second, "vol-0 restarted and Ready", func() (bool, string) {
		if vol0, err = getPod("vol-0"); err != nil {
			return false, err.Error()
		}
		c := vol0.Status.ContainerStatuses[0]
		return c.RestartCount == 1 && c.State.Running != nil && isReady(vol0), describe(vol0)
	})
	seenPIDs[pidOf(t, vol0.Status.ContainerStatuses[0].ContainerID)] = true
	if last := vol0.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 137 || last.Signal != 9 {
		t.Errorf("vol-0 after kill -9 of pid %d: lastState.terminated = %+v, want exit code 137 (signal 9)", oldPID, last)
	}
	if !groupGone(oldPID) {
		t.Errorf("vol-0's killed process group %d is still there", oldPID)
	}
	checkOwnFiles(vol0, lastRun(vol0), "2")
	if b, err := os.ReadFile(filepath.Join(volumeDir(vol0), "runs")); err != nil || string(b) != "vol-0\nvol-0\n" {
		t.Errorf("vol-0's emptyDir on disk holds runs %q (%v), want two runs", b, err)
	}
	t.Logf("killed vol-0's pid %d; it was running and Ready again %s later", oldPID, d.Round(time.Millisecond))

	// Deleting a pod removes its volume; its successor of the same name
	// starts with an empty one.
	start := time.Now()
	if err := client.CoreV1().Pods(namespace).Delete(ctx, "vol-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	d = waitFor(t, 30*time.Second, "the deleted vol-1's directory to be removed", func() (bool, string) {
		_, err := os.Stat(filepath.Join(r.podDir, string(vol1.UID)))
		return errors.Is(err, fs.ErrNotExist), fmt.Sprint(err)
	})
	newVol1 := waitReady("vol-1", vol1)
	checkOwnFiles(newVol1, lastRun(newVol1), "1")
	t.Logf("deleted vol-1: its directory was removed %s later; its successor was Ready %s after the delete",
		d.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// A finished pod's directory is removed as well.
	env, err := getPod("envpod")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the finished envpod's directory to be removed", func() (bool, string) {
		_, err := os.Stat(filepath.Join(r.podDir, string(env.UID)))
		return errors.Is(err, fs.ErrNotExist), fmt.Sprint(err)
	})

	// A volume type the pod runner cannot mount is refused, by name.
	waitFor(t, 30*time.Second, "cmvolpod refused", func() (bool, string) {
		pod, err := getPod("cmvolpod")
		if err != nil {
			return false, err.Error()
		}
		c := pod.Status.ContainerStatuses
		return len(c) == 1 && c[0].State.Waiting != nil && c[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			strings.Contains(c[0].State.Waiting.Message, `volume "settings" (mounted at /etc/e2e): configMap volumes are not supported`), describe(pod)
	})
	checkNothingOnTheMachine()
}

// mountTable maps each mount point of a /proc/<pid>/mountinfo to its root
// (the directory of its file system that is mounted there).
func mountTable(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		// ID parentID major:minor root mountpoint options ...
		if fields := strings.Fields(scanner.Text()); len(fields) > 4 {
			table[fields[4]] = fields[3]
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return table
}
