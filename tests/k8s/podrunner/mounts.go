package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A container with volume mounts runs in a mount namespace of its own, where
// its volumes are bind-mounted at their mountPaths; nothing of it is seen by
// the machine, the pod runner or any other container.
//
// How. Go can start a child in a new mount namespace
// (SysProcAttr.Unshareflags = CLONE_NEWNS; it then makes "/" private
// recursively, so no mount propagates back to the host or to another
// namespace), but it runs no code of ours between fork and exec, where the
// mounts have to be made. So the child is the pod runner itself again, in a
// hidden mode: `podrunner --exec-with-mounts PLAN -- ARGV...` makes the
// mounts (mount(2)), enters the working directory and execs ARGV
// (syscall.Exec). Chosen over util-linux `unshare`+`mount` in a shell wrapper
// because:
//   - the pid stays the container's: the re-executed runner execs ARGV, so
//     the pid that Start returns (the process group leader, the containerID
//     podrunner://<pid>, the one tests kill -9) is ARGV's process from its
//     first instruction, and its exit status is ARGV's. Process group,
//     Pdeathsig and signals are set up by os/exec exactly as without mounts.
//   - no shell quoting of paths, no dependency, and a failure comes back as
//     a precise message (through a pipe, below) instead of a shell's exit
//     code in the container's log.
//   - it can do what mount(8) cannot: bind from a directory's hidden
//     contents (/proc/self/fd/N/...), which the mount points below need.
//
// Exec probes run the same way, each in a fresh namespace with the same
// plan: they see the container's volumes at the same paths, and differ from
// the container only in what it wrote outside its volumes into a mirror's
// tmpfs (below). Entering the container's own namespace instead would need
// setns(2) from a single-threaded process (nsenter(1); Go's runtime is
// multithreaded) and gains nothing a probe checks.
//
// Mount points. A mountPath that does not exist must be made, but not on the
// machine's disk: the namespace has its own mount table, not its own files.
// So the nearest existing parent P of the mountPath is covered, in this
// namespace only, by a tmpfs that mirrors P: each entry of P is bound back
// into the tmpfs from P's covered contents (a symlink is copied), and the
// missing directories are made in the tmpfs. The container sees P as before
// (its subdirectories are the real ones), plus the mount point; a new file
// written directly in P goes to the tmpfs and is not seen outside. When P is
// "/" (mountPath /data on a machine without /data), a mount over "/" would not
// be seen, so the mirror of "/" is mounted on an empty directory of the
// pod's (newRootPath) and the container is chrooted into it. A mountPath
// inside another volume is made inside that volume, as runc does.

// execWithMountsArg selects the hidden mode; it must be the first argument.
const execWithMountsArg = "--exec-with-mounts"

// mountPlan is what the re-executed pod runner is told, as JSON.
type mountPlan struct {
	Mounts  []bindMount `json:"mounts"`
	Dir     string      `json:"dir"`     // working directory, entered once the mounts are made
	NewRoot string      `json:"newRoot"` // where a new root is mounted, if one is needed
	// StatusFD, if not 0, is a descriptor (a pipe) that gets the error if the
	// mounts fail, and is closed by the exec of ARGV; else the error goes to
	// stderr.
	StatusFD int `json:"statusFD,omitempty"`
}

// The hidden mode runs before main, so that it needs nothing of the pod
// runner's flags and set-up.
func init() {
	if len(os.Args) > 1 && os.Args[1] == execWithMountsArg {
		execWithMounts(os.Args[2:])
	}
}

// newCommand returns the command that runs argv in dir: as it is, or with
// mounts, in a new mount namespace through the hidden mode (cmd.Dir is then
// left empty: the working directory may be a mountPath, entered only after
// the mounts).
func newCommand(ctx context.Context, argv []string, dir string, mounts *mountPlan) (*exec.Cmd, error) {
	if mounts == nil {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		return cmd, nil
	}
	plan := *mounts
	plan.Dir = dir
	encoded, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	// /proc/self/exe in the child is the running pod runner, even if its
	// file was replaced or removed since it started.
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = append([]string{"podrunner", execWithMountsArg, string(encoded), "--"}, argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd, nil
}

// startWithMounts starts cmd (from newCommand, with the plan's StatusFD = 3)
// and waits until the child has either exec'd its command or failed to set
// up the mounts; in the latter case it reaps the child and returns the error.
func startWithMounts(cmd *exec.Cmd) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w} // fd 3
	err = cmd.Start()
	w.Close()
	if err != nil {
		return err
	}
	// EOF without a message: the exec closed the pipe (it is close-on-exec).
	_ = r.SetReadDeadline(time.Now().Add(30 * time.Second))
	message, err := io.ReadAll(r)
	if err == nil && len(message) == 0 {
		return nil
	}
	if len(message) == 0 {
		message = []byte("setting up the volume mounts: " + err.Error())
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	return errors.New(string(message))
}

// execWithMounts is the hidden mode: args are PLAN -- ARGV... It never
// returns.
func execWithMounts(args []string) {
	var plan mountPlan
	fail := func(err error) {
		message := "volume mounts: " + err.Error()
		if plan.StatusFD != 0 {
			if _, err := syscall.Write(plan.StatusFD, []byte(message)); err == nil {
				os.Exit(127)
			}
		}
		fmt.Fprintf(os.Stderr, "podrunner %s: %s\n", execWithMountsArg, message)
		os.Exit(127)
	}
	if len(args) < 3 || args[1] != "--" {
		fail(fmt.Errorf("usage: podrunner %s PLAN -- COMMAND [ARGS...]", execWithMountsArg))
	}
	if err := json.Unmarshal([]byte(args[0]), &plan); err != nil {
		fail(fmt.Errorf("the plan: %w", err))
	}
	if plan.StatusFD != 0 {
		syscall.CloseOnExec(plan.StatusFD)
	}
	if err := plan.apply(); err != nil {
		fail(err)
	}
	argv := args[2:]
	fail(fmt.Errorf("exec %s: %w", argv[0], syscall.Exec(argv[0], argv, os.Environ())))
}

// mounter makes one plan's mounts, in the mount namespace it runs in.
type mounter struct {
	volumes []string // mountPaths mounted so far
	tmpfs   []uint64 // devices of the tmpfs mounts made so far: directories there are the namespace's own
}

func (p mountPlan) apply() error {
	// Every source is opened first: a volume mounted at, say, /tmp could
	// hide the pod directory, and with it the next volume's source.
	sources := make([]*os.File, len(p.Mounts))
	for i, m := range p.Mounts {
		f, err := openSource(m)
		if err != nil {
			return err
		}
		defer f.Close()
		sources[i] = f
	}
	// The same for the working directory, in case a volume hides it and it
	// is not a mountPath itself (if it is, it may not exist yet).
	dir, dirErr := os.Open(p.Dir)
	if dirErr == nil {
		defer dir.Close()
	}

	var s mounter
	for _, m := range p.Mounts {
		top := "/" + strings.Split(m.Target, "/")[1]
		if _, err := os.Lstat(top); errors.Is(err, fs.ErrNotExist) {
			if err := s.newRoot(p.NewRoot); err != nil {
				return fmt.Errorf("a private root for %s: %w", m.Target, err)
			}
			break
		}
	}
	for i, m := range p.Mounts {
		if err := s.mountPoint(m.Target); err != nil {
			return fmt.Errorf("mountPath %s: %w", m.Target, err)
		}
		if err := bind(sources[i], m.Target); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", filepath.Join(m.Source, m.SubPath), m.Target, err)
		}
		if m.ReadOnly {
			if err := remountReadOnly(m.Target); err != nil {
				return fmt.Errorf("%s read-only: %w", m.Target, err)
			}
		}
		s.volumes = append(s.volumes, m.Target)
	}
	if err := os.Chdir(p.Dir); err != nil {
		if dirErr != nil {
			return fmt.Errorf("working directory: %w", err)
		}
		if err := syscall.Fchdir(int(dir.Fd())); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	return nil
}

// openSource opens the directory a mount binds: the volume's, or its subPath,
// made if missing (as the kubelet does), which must not lead out of the
// volume through a symlink.
func openSource(m bindMount) (*os.File, error) {
	if m.SubPath == "" || m.SubPath == "." {
		return os.Open(m.Source)
	}
	dir := filepath.Join(m.Source, m.SubPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	volume, err := filepath.EvalSymlinks(m.Source)
	if err != nil {
		return nil, err
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	if resolved != volume && !strings.HasPrefix(resolved, volume+"/") {
		return nil, fmt.Errorf("subPath %s leads out of its volume (to %s)", m.SubPath, resolved)
	}
	return os.Open(resolved)
}

// bind mounts the directory source (with whatever is mounted below it) at
// target.
func bind(source *os.File, target string) error {
	return syscall.Mount(fmt.Sprintf("/proc/self/fd/%d", source.Fd()), target, "", syscall.MS_BIND|syscall.MS_REC, "")
}

// remountReadOnly makes the bind mount at target read-only, keeping the
// flags it has from its file system (changing those would need more rights).
func remountReadOnly(target string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(target, &st); err != nil {
		return err
	}
	const kept = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_NOATIME | syscall.MS_NODIRATIME | syscall.MS_RELATIME
	flags := uintptr(syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY) | uintptr(st.Flags)&kept
	return syscall.Mount("", target, "", flags, "")
}

// mountPoint makes sure the directory target exists, without making anything
// on the machine's disk.
func (s *mounter) mountPoint(target string) error {
	info, err := os.Stat(target)
	if err == nil {
		if !info.IsDir() {
			return errors.New("exists and is not a directory")
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(target)
	for {
		if _, err := os.Stat(parent); err == nil {
			break
		}
		parent = filepath.Dir(parent) // "/" exists
	}
	if !s.own(parent) {
		if err := s.mirror(parent); err != nil {
			return fmt.Errorf("covering %s with a tmpfs: %w", parent, err)
		}
	}
	return os.MkdirAll(target, 0o755)
}

// own tells whether a directory may be written to make a mount point in it:
// it is inside a volume mounted here (the pod's own directory) or on a tmpfs
// of this namespace.
func (s *mounter) own(dir string) bool {
	for _, v := range s.volumes {
		if dir == v || strings.HasPrefix(dir, v+"/") {
			return true
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false
	}
	for _, dev := range s.tmpfs {
		if st.Dev == dev {
			return true
		}
	}
	return false
}

// mirror covers dir with a tmpfs that holds dir's entries (bound back from
// the covered directory; symlinks copied).
func (s *mounter) mirror(dir string) error {
	covered, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer covered.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(covered.Fd()), &st); err != nil {
		return err
	}
	if err := s.mountTmpfs(dir, fmt.Sprintf("mode=%o", st.Mode&0o7777)); err != nil {
		return err
	}
	// The owner too, where it can be set (in a user namespace, dir's owner
	// may have no uid).
	_ = os.Lchown(dir, int(st.Uid), int(st.Gid))
	return fillMirror(covered, dir)
}

// newRoot mounts a mirror of "/" on the empty directory at, and makes it the
// root directory. The tmpfs is unbindable, so the recursive binds of "/"'s
// entries (one of which holds at) leave it out instead of nesting it in itself.
func (s *mounter) newRoot(at string) error {
	if at == "" {
		return errors.New("no directory for it")
	}
	root, err := os.Open("/")
	if err != nil {
		return err
	}
	defer root.Close()
	if err := s.mountTmpfs(at, "mode=0755"); err != nil {
		return err
	}
	if err := syscall.Mount("", at, "", syscall.MS_UNBINDABLE, ""); err != nil {
		return err
	}
	if err := fillMirror(root, at); err != nil {
		return err
	}
	if err := syscall.Chroot(at); err != nil {
		return err
	}
	return os.Chdir("/")
}

func (s *mounter) mountTmpfs(at, options string) error {
	if err := syscall.Mount("tmpfs", at, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, options); err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(at, &st); err != nil {
		return err
	}
	s.tmpfs = append(s.tmpfs, st.Dev)
	return nil
}

// fillMirror recreates in dst each entry of the directory src (which dst may
// cover): a directory or file is bound (recursively) from src's, through the
// descriptor, which still reaches the covered entries; a symlink is copied.
func fillMirror(src *os.File, dst string) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		from := fmt.Sprintf("/proc/self/fd/%d/%s", src.Fd(), name)
		to := filepath.Join(dst, name)
		info, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(from)
			if err == nil {
				err = os.Symlink(link, to)
			}
			if err != nil {
				return err
			}
			continue
		case info.IsDir():
			err = os.Mkdir(to, info.Mode().Perm())
		default:
			var f *os.File
			if f, err = os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return err
		}
		if err := syscall.Mount(from, to, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("binding %s back: %w", filepath.Join(dst, name), err)
		}
	}
	return nil
}
