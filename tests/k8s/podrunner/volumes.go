package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Volumes, as far as the pod runner goes: emptyDir only.
//
//   - Each emptyDir volume of a pod is a directory of the pod's,
//     <pod dir>/volumes/kubernetes.io~empty-dir/<name> (the kubelet's layout),
//     made when the pod starts, kept across restarts of its containers, and
//     removed with the pod directory when the pod is finished or deleted.
//   - A container's volumeMounts of emptyDir volumes are bind mounts in a
//     mount namespace of the container's own (mounts.go), so that every
//     container sees its own pod's directory at the mountPath and nothing
//     appears there for anyone else.
//   - A mount of any other volume type is refused with the kubelet's
//     CreateContainerConfigError, naming the type. A volume that no container
//     mounts is not looked at, whatever its type.
//   - The one exception is the service-account token volume that the
//     ServiceAccount admission plugin adds to every pod: it has never been
//     mounted here and still is not (see isServiceAccountTokenVolume).

// bindMount is one volume mount of a container: a directory of the pod's (an
// emptyDir, or a subPath inside one, made if missing) bound at the
// container's mountPath.
type bindMount struct {
	Source   string `json:"source"`            // the volume's directory
	SubPath  string `json:"subPath,omitempty"` // relative, no ".."
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// emptyDirPath is where the pod whose directory is podDir keeps its emptyDir
// volume name.
func emptyDirPath(podDir, name string) string {
	return filepath.Join(podDir, "volumes", "kubernetes.io~empty-dir", name)
}

// newRootPath is an empty directory of the pod's on which a container's mount
// namespace mounts a new root, when a mountPath's top-level directory does
// not exist on the machine (see mounts.go).
func newRootPath(podDir string) string {
	return filepath.Join(podDir, "volumes", ".root")
}

// podEmptyDirs names the pod's emptyDir volumes, mounted or not: the kubelet
// sets up every volume of a pod.
func podEmptyDirs(spec *v1.PodSpec) []string {
	var names []string
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			names = append(names, v.Name)
		}
	}
	return names
}

// createVolumes makes the pod's emptyDir directories, or finds them from an
// earlier run of the same pod (a restarted pod runner), and the directory
// for a new root. Like the kubelet's, the emptyDirs are writable by every
// user.
func createVolumes(spec *v1.PodSpec, podDir string) error {
	names := podEmptyDirs(spec)
	if len(names) == 0 {
		return nil
	}
	for _, name := range names {
		dir := emptyDirPath(podDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
	}
	return os.MkdirAll(newRootPath(podDir), 0o755)
}

// containerMounts is container c's mount plan: its volumeMounts as bind
// mounts from the pod directory podDir, parents before children. lookup
// expands $(VAR) in subPathExpr with the container's environment. An error
// names what the pod runner cannot mount.
func containerMounts(spec *v1.PodSpec, c *v1.Container, podDir string, lookup func(string) (string, bool)) ([]bindMount, error) {
	if len(c.VolumeDevices) > 0 {
		return nil, fmt.Errorf("volumeDevices (raw block volumes) are not supported by the pod runner")
	}
	var mounts []bindMount
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(spec.Volumes, func(v v1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			return nil, fmt.Errorf("volumeMount %q: the pod has no volume of that name", m.Name)
		}
		volume := &spec.Volumes[i]
		if isServiceAccountTokenVolume(volume) {
			continue
		}
		if volume.EmptyDir == nil {
			return nil, fmt.Errorf("volume %q (mounted at %s): %s volumes are not supported by the pod runner, only emptyDir",
				m.Name, m.MountPath, volumeType(volume))
		}
		if m.MountPropagation != nil && *m.MountPropagation != v1.MountPropagationNone {
			return nil, fmt.Errorf("volumeMount %q: mountPropagation %s is not supported by the pod runner (its mounts are private)",
				m.Name, *m.MountPropagation)
		}
		if m.RecursiveReadOnly != nil && *m.RecursiveReadOnly == v1.RecursiveReadOnlyEnabled {
			return nil, fmt.Errorf("volumeMount %q: recursiveReadOnly Enabled is not supported by the pod runner", m.Name)
		}
		target := filepath.Clean(m.MountPath)
		if !filepath.IsAbs(m.MountPath) || target == "/" {
			return nil, fmt.Errorf("volumeMount %q: mountPath %q must be an absolute path other than /", m.Name, m.MountPath)
		}
		subPath := m.SubPath
		if m.SubPathExpr != "" {
			subPath = expand(m.SubPathExpr, lookup)
		}
		if filepath.IsAbs(subPath) || slices.Contains(strings.Split(subPath, "/"), "..") {
			return nil, fmt.Errorf("volumeMount %q: subPath %q must be a relative path without '..'", m.Name, subPath)
		}
		if subPath != "" {
			subPath = filepath.Clean(subPath)
		}
		mounts = append(mounts, bindMount{
			Source:   emptyDirPath(podDir, m.Name),
			SubPath:  subPath,
			Target:   target,
			ReadOnly: m.ReadOnly,
		})
	}
	// A mountPath inside another one is mounted after it, inside the volume
	// mounted there (a parent path sorts before its children).
	slices.SortFunc(mounts, func(a, b bindMount) int { return strings.Compare(a.Target, b.Target) })
	return mounts, nil
}

// mountsAllowed refuses a plan with mounts when the pod runner cannot make
// them: a mount namespace and bind mounts need root (CAP_SYS_ADMIN). Inside
// netns.sh's user namespace (not root outside) the runner is uid 0 there and
// tries.
func mountsAllowed(mounts []bindMount, euid int) error {
	if len(mounts) > 0 && euid != 0 {
		return fmt.Errorf("volume mounts need root: the pod runner runs as uid %d (mount %s)", euid, mounts[0].Target)
	}
	return nil
}

// isServiceAccountTokenVolume tells the volume that the ServiceAccount
// admission plugin adds to every pod (unless automountServiceAccountToken is
// false): projected "kube-api-access-<random>" with a token, the cluster's CA
// and the namespace, for /var/run/secrets/kubernetes.io/serviceaccount. The
// pod runner has never mounted it, and no pod it runs talks to the API from
// inside, so it stays unmounted rather than refused: refusing it would stop
// every pod.
func isServiceAccountTokenVolume(v *v1.Volume) bool {
	if v.Projected == nil || !strings.HasPrefix(v.Name, "kube-api-access-") {
		return false
	}
	return slices.ContainsFunc(v.Projected.Sources, func(s v1.VolumeProjection) bool { return s.ServiceAccountToken != nil })
}

// volumeType is the name of the volume's source as written in a manifest
// ("configMap", "persistentVolumeClaim", ...): the JSON name of the one set
// field of VolumeSource.
func volumeType(v *v1.Volume) string {
	source := reflect.ValueOf(v.VolumeSource)
	for i := range source.NumField() {
		if f := source.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(source.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "unknown"
}
