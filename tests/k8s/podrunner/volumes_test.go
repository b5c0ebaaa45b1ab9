package main

import (
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

	v1 "k8s.io/api/core/v1"
)

func emptyDir(name string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}
}

// The volume the ServiceAccount admission plugin adds to every pod.
var serviceAccountVolume = v1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{
	Sources: []v1.VolumeProjection{
		{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}},
		{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
	},
}}}

func lookupIn(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestContainerMountsPlan(t *testing.T) {
	spec := &v1.PodSpec{Volumes: []v1.Volume{
		emptyDir("data"),
		emptyDir("cache"),
		serviceAccountVolume,
		// Declared, mounted by no container: not looked at.
		{Name: "settings", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
	}}
	c := &v1.Container{VolumeMounts: []v1.VolumeMount{
		{Name: "cache", MountPath: "/var/lib/stego/cache/", ReadOnly: true, SubPathExpr: "per-pod/$(POD_NAME)"},
		{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
		{Name: "data", MountPath: "/var/lib/stego"},
		{Name: "data", MountPath: "/srv/logs", SubPath: "logs"},
	}}
	got, err := containerMounts(spec, c, "/pods/uid-1", lookupIn(map[string]string{"POD_NAME": "stego-0"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []bindMount{
		{Source: "/pods/uid-1/volumes/kubernetes.io~empty-dir/data", SubPath: "logs", Target: "/srv/logs"},
		{Source: "/pods/uid-1/volumes/kubernetes.io~empty-dir/data", Target: "/var/lib/stego"},
		{Source: "/pods/uid-1/volumes/kubernetes.io~empty-dir/cache", SubPath: "per-pod/stego-0", Target: "/var/lib/stego/cache", ReadOnly: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan\n got %+v\nwant %+v", got, want)
	}
	if names := podEmptyDirs(spec); !slices.Equal(names, []string{"data", "cache"}) {
		t.Errorf("podEmptyDirs = %v", names)
	}

	// No mounts but the service account's: nothing to mount, no root needed.
	c = &v1.Container{VolumeMounts: c.VolumeMounts[1:2]}
	if got, err := containerMounts(spec, c, "/pods/uid-1", lookupIn(nil)); err != nil || len(got) != 0 {
		t.Errorf("service account mount only: %v, %v; want no mounts", got, err)
	}
}

func TestContainerMountsRefusals(t *testing.T) {
	volume := func(name string, source v1.VolumeSource) v1.Volume {
		return v1.Volume{Name: name, VolumeSource: source}
	}
	bidirectional := v1.MountPropagationBidirectional
	recursive := v1.RecursiveReadOnlyEnabled
	spec := &v1.PodSpec{Volumes: []v1.Volume{
		emptyDir("data"),
		volume("settings", v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}),
		volume("keys", v1.VolumeSource{Secret: &v1.SecretVolumeSource{}}),
		volume("claim", v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}),
		volume("host", v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/etc"}}),
		volume("info", v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{}}),
		// Projected, but not the admission plugin's token volume.
		volume("bundle", v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{}}),
	}}
	for _, c := range []struct {
		mount v1.VolumeMount
		want  string
	}{
		{v1.VolumeMount{Name: "settings", MountPath: "/etc/app"}, `volume "settings" (mounted at /etc/app): configMap volumes are not supported by the pod runner, only emptyDir`},
		{v1.VolumeMount{Name: "keys", MountPath: "/keys"}, "secret volumes are not supported"},
		{v1.VolumeMount{Name: "claim", MountPath: "/var/lib/stego"}, "persistentVolumeClaim volumes are not supported"},
		{v1.VolumeMount{Name: "host", MountPath: "/host"}, "hostPath volumes are not supported"},
		{v1.VolumeMount{Name: "info", MountPath: "/info"}, "downwardAPI volumes are not supported"},
		{v1.VolumeMount{Name: "bundle", MountPath: "/bundle"}, "projected volumes are not supported"},
		{v1.VolumeMount{Name: "missing", MountPath: "/m"}, `volumeMount "missing": the pod has no volume of that name`},
		{v1.VolumeMount{Name: "data", MountPath: "/d", MountPropagation: &bidirectional}, "mountPropagation Bidirectional is not supported"},
		{v1.VolumeMount{Name: "data", MountPath: "/d", ReadOnly: true, RecursiveReadOnly: &recursive}, "recursiveReadOnly Enabled is not supported"},
		{v1.VolumeMount{Name: "data", MountPath: "relative/path"}, `mountPath "relative/path" must be an absolute path other than /`},
		{v1.VolumeMount{Name: "data", MountPath: "/"}, "must be an absolute path other than /"},
		{v1.VolumeMount{Name: "data", MountPath: "/d", SubPath: "a/../../b"}, `subPath "a/../../b" must be a relative path without '..'`},
		{v1.VolumeMount{Name: "data", MountPath: "/d", SubPath: "/etc"}, "must be a relative path"},
		{v1.VolumeMount{Name: "data", MountPath: "/d", SubPathExpr: "$(UP)/x"}, `subPath "../x" must be a relative path`},
	} {
		container := &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/ok"}, c.mount}}
		_, err := containerMounts(spec, container, "/pods/u", lookupIn(map[string]string{"UP": ".."}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.mount, err, c.want)
		}
	}
	devices := &v1.Container{VolumeDevices: []v1.VolumeDevice{{Name: "claim", DevicePath: "/dev/xvda"}}}
	if _, err := containerMounts(spec, devices, "/pods/u", lookupIn(nil)); err == nil || !strings.Contains(err.Error(), "volumeDevices") {
		t.Errorf("volumeDevices: error %v", err)
	}
}

func TestMountsNeedRoot(t *testing.T) {
	one := []bindMount{{Source: "/pods/u/volumes/kubernetes.io~empty-dir/data", Target: "/var/lib/stego"}}
	if err := mountsAllowed(one, 1000); err == nil || !strings.Contains(err.Error(), "volume mounts need root: the pod runner runs as uid 1000") {
		t.Errorf("not root, with mounts: %v", err)
	}
	if err := mountsAllowed(nil, 1000); err != nil {
		t.Errorf("not root, no mounts: %v", err)
	}
	if err := mountsAllowed(one, 0); err != nil {
		t.Errorf("root: %v", err)
	}
}

// The mounts themselves, as the pod runner makes them for a container and an
// exec probe: needs root (CI runs as root). Every mountPath is missing on the
// machine, so this also covers the mirror of an existing parent, a new root
// for a missing top-level directory, and a mountPath inside a volume.
func TestContainerMountsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mount namespaces and bind mounts need root")
	}
	podDir := t.TempDir()
	spec := &v1.PodSpec{Volumes: []v1.Volume{emptyDir("data"), emptyDir("other")}}
	if err := createVolumes(spec, podDir); err != nil {
		t.Fatal(err)
	}
	unique := fmt.Sprintf("podrunner-unit-%d", os.Getpid())
	inVarLib, topLevel := "/var/lib/"+unique, "/"+unique+"-ro"
	for _, path := range []string{inVarLib, topLevel} {
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s exists on this machine (%v): this test would prove nothing", path, err)
		}
	}
	container := &v1.Container{VolumeMounts: []v1.VolumeMount{
		{Name: "data", MountPath: inVarLib},
		{Name: "data", MountPath: topLevel, ReadOnly: true},
		{Name: "other", MountPath: inVarLib + "/nested", SubPath: "sub"},
	}}
	mounts, err := containerMounts(spec, container, podDir, lookupIn(nil))
	if err != nil {
		t.Fatal(err)
	}
	plan := &mountPlan{Mounts: mounts, NewRoot: newRootPath(podDir)}
	workDir := t.TempDir()
	script := strings.Join([]string{
		"set -e",
		"echo hello > " + inVarLib + "/file",
		"echo nested > " + inVarLib + "/nested/file",
		"cat " + topLevel + "/file",
		"if touch " + topLevel + "/x 2>/dev/null; then echo ro:writable; else echo ro:read-only; fi",
		"test -d /var/lib/dpkg -o -d /var/lib/apt && echo var-lib:kept", // the mirror keeps /var/lib's entries
		"echo pwd:$(pwd)",
		"exec sleep 60",
	}, "\n")
	logPath := filepath.Join(t.TempDir(), "log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// The working directory is a mountPath, entered once it is mounted.
	proc, err := startProcess([]string{"/bin/sh", "-c", script}, []string{"PATH=/usr/bin:/bin"}, inVarLib, logFile, plan)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.stop(0)
	readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(readLog(), "pwd:") {
		if time.Now().After(deadline) {
			t.Fatalf("no output from the container after 20 s: %q", readLog())
		}
		time.Sleep(10 * time.Millisecond)
	}
	log := readLog()
	for _, want := range []string{"hello\n", "ro:read-only\n", "var-lib:kept\n", "pwd:" + inVarLib + "\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("the container's output lacks %q:\n%s", want, log)
		}
	}
	// The pid is the container's command itself (the hidden mode exec'd it).
	deadline = time.Now().Add(10 * time.Second)
	for {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", proc.pid()))
		if strings.HasPrefix(string(cmdline), "sleep\x00") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d runs %q, want sleep", proc.pid(), cmdline)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// An exec probe sees the same mounts.
	probe := newProber(&v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "test -f " + inVarLib + "/nested/file"}}}},
		"", nil, execContext{argv: func(c []string) ([]string, error) { return append([]string{"/bin/sh"}, c[1:]...), nil }, dir: workDir, mounts: plan})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := probe.check(ctx); err != nil {
		t.Errorf("exec probe in the container's mounts: %v", err)
	}

	// The data is in the pod's emptyDirs; nothing appeared on the machine.
	for path, want := range map[string]string{
		filepath.Join(emptyDirPath(podDir, "data"), "file"):         "hello\n",
		filepath.Join(emptyDirPath(podDir, "other"), "sub", "file"): "nested\n",
	} {
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", path, b, err, want)
		}
	}
	for _, path := range []string{inVarLib, topLevel} {
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s appeared on the machine (%v)", path, err)
		}
	}
	if entries, err := os.ReadDir(newRootPath(podDir)); err != nil || len(entries) != 0 {
		t.Errorf("the new root's mount point on the machine: %v %v, want it empty", entries, err)
	}

	// SIGKILL to the pid ends the container: exit code 137.
	if err := syscall.Kill(proc.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the container did not end after SIGKILL")
	}
	if proc.exitCode != 137 || proc.signal != 9 {
		t.Errorf("after SIGKILL: exit code %d, signal %d; want 137, 9", proc.exitCode, proc.signal)
	}
}

// A mount that cannot be made fails the start with the reason, and leaves no
// process behind.
func TestContainerMountsFailureIsReported(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mount namespaces and bind mounts need root")
	}
	podDir := t.TempDir()
	spec := &v1.PodSpec{Volumes: []v1.Volume{emptyDir("data")}}
	if err := createVolumes(spec, podDir); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	plan := &mountPlan{Mounts: []bindMount{{Source: emptyDirPath(podDir, "data"), Target: notADir}}, NewRoot: newRootPath(podDir)}
	_, err := startProcess([]string{"/bin/true"}, nil, podDir, os.Stderr, plan)
	if err == nil || !strings.Contains(err.Error(), "mountPath "+notADir+": exists and is not a directory") {
		t.Errorf("start with an impossible mount: %v", err)
	}
}
