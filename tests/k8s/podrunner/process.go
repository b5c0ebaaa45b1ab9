package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one run of a container: a process group led by the container's
// command. The group stands in for the container: signals go to the whole
// group, and when the leader exits the rest of the group is killed, as a
// runtime tears down a container's cgroup.
type process struct {
	cmd       *exec.Cmd
	startedAt time.Time
	exited    chan struct{} // closed once the leader is reaped and the group killed
	exitCode  int32
	signal    int32 // the signal that killed the leader, 0 if it exited
}

// startProcess runs argv in its own process group with env, in dir, with
// stdout and stderr appended to log, and with the volume mounts if any
// (mounts.go).
func startProcess(argv, env []string, dir string, log *os.File, mounts *mountPlan) (*process, error) {
	if mounts != nil {
		plan := *mounts
		plan.StatusFD = 3 // startWithMounts's pipe
		mounts = &plan
	}
	cmd, err := newCommand(context.Background(), argv, dir, mounts)
	if err != nil {
		return nil, err
	}
	cmd.Env = env
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr.Setpgid = true
	// If the pod runner is killed without its clean shutdown, its
	// containers die with it instead of outliving the test. The flag
	// survives the exec of the hidden mode into the command.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if mounts != nil {
		err = startWithMounts(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, startedAt: time.Now(), exited: make(chan struct{})}
	go p.wait()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) wait() {
	err := p.cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		p.exitCode = 128 // never started properly; the runtime's code for that
	}
	if status, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case status.Signaled():
			p.signal = int32(status.Signal())
			p.exitCode = 128 + p.signal // the shell's and the runtimes' convention
		case status.Exited():
			p.exitCode = int32(status.ExitStatus())
		}
	}
	p.signalGroup(syscall.SIGKILL)
	close(p.exited)
}

func (p *process) signalGroup(sig syscall.Signal) {
	// ESRCH (group already empty) is the normal case after the leader exits.
	_ = syscall.Kill(-p.pid(), sig)
}

// stop asks the group to terminate (SIGTERM), and kills it (SIGKILL) if the
// leader has not exited after grace. It returns once the leader is reaped.
func (p *process) stop(grace time.Duration) {
	p.signalGroup(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.signalGroup(syscall.SIGKILL)
		<-p.exited
	}
}
