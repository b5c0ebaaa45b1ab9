package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The pod runner has no container runtime: a container is a local process, and
// its image only names the executable to run. The rule:
//
//   - The image's name is its last path component without tag or digest:
//     "registry.example:5000/team/stego-worker:1.2@sha256:…" → "stego-worker".
//   - A name is looked up first in the image directory (--image-dir, the
//     repository's build/bin), then on the pod runner's PATH.
//   - The image must resolve ("be pullable"), else the container waits with
//     reason ErrImagePull.
//   - Without a command, the image's executable runs with the container's args
//     (the binary is the image's entrypoint). With a command, the base name of
//     command[0] is looked up the same way, as if the image held everything in
//     the image directory and on PATH: image "sh" with command
//     ["/bin/sh", "-c", "…"] runs sh from PATH.
type imageResolver struct {
	dir string // the image directory; empty: PATH only
}

// imageName returns the part of an image reference that names the executable.
func imageName(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, '/'); i >= 0 {
		image = image[i+1:]
	}
	if i := strings.IndexByte(image, ':'); i >= 0 {
		image = image[:i]
	}
	return image
}

func (r imageResolver) lookup(name string) (string, error) {
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("no executable name")
	}
	if r.dir != "" {
		path := filepath.Join(r.dir, name)
		if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%q is neither in the image directory %q nor on PATH", name, r.dir)
	}
	return path, nil
}

// image resolves a container's image to its executable.
func (r imageResolver) image(image string) (string, error) {
	return r.lookup(imageName(image))
}

// argv maps a container's (already expanded) command and args to a process's
// argv, following the rule above.
func (r imageResolver) argv(image string, command, args []string) ([]string, error) {
	exe, err := r.image(image)
	if err != nil {
		return nil, err
	}
	if len(command) > 0 {
		if exe, err = r.lookup(filepath.Base(command[0])); err != nil {
			return nil, err
		}
		args = append(append([]string{}, command[1:]...), args...)
	}
	return append([]string{exe}, args...), nil
}
