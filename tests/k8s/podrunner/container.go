package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// How long a container whose configuration cannot be built (missing Secret,
// unknown image, ...) waits before the next try; the kubelet retries on its
// periodic pod sync in the same way.
const configRetry = 2 * time.Second

// container runs one container of a pod: starts its process, probes it and
// restarts it per the pod's restartPolicy with exponential back-off, and
// keeps the facts its ContainerStatus is made of.
type container struct {
	spec *v1.Container
	w    *podWorker

	mu             sync.Mutex
	runs           int32  // processes started so far
	waitingReason  string // why it is not running; empty when running or finished
	waitingMessage string
	current        *process // the running process, if any
	currentID      string
	imageID        string
	lastExit       *v1.ContainerStateTerminated // the last run's end
	previousExit   *v1.ContainerStateTerminated // the one before
	started, ready bool
}

func newContainer(w *podWorker, spec *v1.Container) *container {
	return &container{spec: spec, w: w, waitingReason: "ContainerCreating"}
}

// status reports the container the way the kubelet does: state is running,
// waiting (with lastState the previous run's end) or terminated for good.
func (c *container) status() v1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	started := c.started
	s := v1.ContainerStatus{
		Name:         c.spec.Name,
		Image:        c.spec.Image,
		ImageID:      c.imageID,
		ContainerID:  c.currentID,
		RestartCount: max(c.runs-1, 0),
		Ready:        c.ready,
		Started:      &started,
	}
	switch {
	case c.current != nil:
		s.State.Running = &v1.ContainerStateRunning{StartedAt: metav1.NewTime(c.current.startedAt)}
		s.LastTerminationState.Terminated = c.lastExit
	case c.waitingReason != "":
		s.State.Waiting = &v1.ContainerStateWaiting{Reason: c.waitingReason, Message: c.waitingMessage}
		s.LastTerminationState.Terminated = c.lastExit
	case c.lastExit != nil:
		s.State.Terminated = c.lastExit
		s.LastTerminationState.Terminated = c.previousExit
	}
	return *s.DeepCopy()
}

func (c *container) setWaiting(reason, message string) {
	c.mu.Lock()
	c.waitingReason, c.waitingMessage = reason, message
	c.mu.Unlock()
	c.w.notify()
}

// run keeps the container going until the pod stops (ctx ends) or, per the
// restartPolicy, the container is finished for good.
func (c *container) run(ctx context.Context) {
	var backoff time.Duration // wait before the next restart; the first restart is immediate
	for {
		proc, probeEnv, err := c.start()
		if err != nil {
			log.Printf("%s: %v", c.w.name(c.spec.Name), err)
			if !sleepCtx(ctx, configRetry) {
				return
			}
			continue
		}
		exit := c.supervise(ctx, proc, probeEnv)
		if ctx.Err() != nil || !c.shouldRestart(exit.ExitCode) {
			return
		}
		// A container that ran longer than twice the back-off cap is healthy
		// again: its back-off starts over (the kubelet's rule).
		if time.Since(proc.startedAt) > 2*c.w.r.cfg.backoffMax {
			backoff = 0
		}
		if backoff > 0 {
			c.setWaiting("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s",
				backoff, c.spec.Name, c.w.name("")))
			if !sleepCtx(ctx, backoff) {
				c.setWaiting("", "") // stopped while waiting: it stays terminated
				return
			}
		}
		backoff = min(max(2*backoff, c.w.r.cfg.backoffInitial), c.w.r.cfg.backoffMax)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *container) shouldRestart(exitCode int32) bool {
	switch c.w.spec().RestartPolicy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// start builds the container's environment and argv and starts its process.
// Configuration problems leave the container waiting with the kubelet's reason.
func (c *container) start() (*process, execContext, error) {
	pod := c.w.podWithAddresses()
	dir := c.spec.WorkingDir
	if dir == "" {
		dir = c.w.dir
	}
	if len(pod.Spec.InitContainers) > 0 {
		err := errors.New("the pod runner does not run init containers")
		c.setWaiting("CreateContainerConfigError", err.Error())
		return nil, execContext{}, err
	}
	env, err := containerEnv(context.Background(), c.w.r.client, pod, c.spec, c.w.dir)
	if err != nil {
		c.setWaiting("CreateContainerConfigError", err.Error())
		return nil, execContext{}, err
	}
	mounts, err := containerMounts(&pod.Spec, c.spec, c.w.dir, env.lookup)
	if err == nil {
		err = mountsAllowed(mounts, os.Geteuid())
	}
	if err != nil {
		c.setWaiting("CreateContainerConfigError", err.Error())
		return nil, execContext{}, err
	}
	var plan *mountPlan
	if len(mounts) > 0 {
		plan = &mountPlan{Mounts: mounts, NewRoot: newRootPath(c.w.dir)}
	}
	expandAll := func(list []string) []string {
		out := make([]string, len(list))
		for i, s := range list {
			out[i] = expand(s, env.lookup)
		}
		return out
	}
	images := c.w.r.images
	imagePath, err := images.image(c.spec.Image)
	if err != nil {
		c.setWaiting("ErrImagePull", err.Error())
		return nil, execContext{}, err
	}
	argv, err := images.argv(c.spec.Image, expandAll(c.spec.Command), expandAll(c.spec.Args))
	if err != nil {
		c.setWaiting("RunContainerError", err.Error())
		return nil, execContext{}, err
	}
	logFile, err := os.OpenFile(filepath.Join(c.w.logDir, c.spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.setWaiting("RunContainerError", err.Error())
		return nil, execContext{}, err
	}
	defer logFile.Close() // the process has its own descriptor
	c.mu.Lock()
	run := c.runs + 1
	c.mu.Unlock()
	fmt.Fprintf(logFile, "---- podrunner: run %d of container %s at %s: %s\n",
		run, c.spec.Name, time.Now().UTC().Format(time.RFC3339Nano), strings.Join(argv, " "))
	proc, err := startProcess(argv, env.list(), dir, logFile, plan)
	if err != nil {
		c.setWaiting("RunContainerError", err.Error())
		return nil, execContext{}, err
	}
	log.Printf("%s: started pid %d (run %d): %s", c.w.name(c.spec.Name), proc.pid(), run, strings.Join(argv, " "))
	c.mu.Lock()
	c.runs = run
	c.current = proc
	// The containerID names the process group leader: tests (and people)
	// find the "container" by it.
	c.currentID = "podrunner://" + strconv.Itoa(proc.pid())
	c.imageID = "file://" + imagePath
	c.waitingReason, c.waitingMessage = "", ""
	c.started = c.spec.StartupProbe == nil
	c.ready = c.started && c.spec.ReadinessProbe == nil
	c.mu.Unlock()
	c.w.notify()
	probeArgv := func(command []string) ([]string, error) { return images.argv(c.spec.Image, command, nil) }
	return proc, execContext{argv: probeArgv, env: env.list(), dir: dir, mounts: plan}, nil
}

// supervise probes the running process until it exits, is stopped because
// the pod stops (ctx), or is killed after a failed liveness or startup probe.
// It records how the run ended.
func (c *container) supervise(ctx context.Context, proc *process, inside execContext) *v1.ContainerStateTerminated {
	probeCtx, stopProbes := context.WithCancel(ctx)
	kill := make(chan string, 1)
	go c.probe(probeCtx, proc, inside, kill)
	var message string
	select {
	case <-proc.exited:
	case <-ctx.Done():
		c.stop(proc, inside, c.w.stopGrace())
	case message = <-kill:
		log.Printf("%s: %s; restarting", c.w.name(c.spec.Name), message)
		c.stop(proc, inside, c.w.podGrace())
	}
	stopProbes()
	exit := &v1.ContainerStateTerminated{
		ExitCode:    proc.exitCode,
		Signal:      proc.signal,
		Reason:      "Error",
		Message:     message,
		StartedAt:   metav1.NewTime(proc.startedAt),
		FinishedAt:  metav1.Now(),
		ContainerID: "podrunner://" + strconv.Itoa(proc.pid()),
	}
	if proc.exitCode == 0 {
		exit.Reason = "Completed"
	}
	log.Printf("%s: pid %d exited with code %d", c.w.name(c.spec.Name), proc.pid(), proc.exitCode)
	c.mu.Lock()
	c.current = nil
	c.previousExit, c.lastExit = c.lastExit, exit
	c.ready, c.started = false, false
	c.mu.Unlock()
	c.w.notify()
	return exit
}

// preStopMinGrace is what the kubelet leaves between a preStop hook that used up
// the grace period and SIGKILL.
const preStopMinGrace = 2 * time.Second

// stop ends a running process as the kubelet does: the preStop exec hook first,
// if the container has one (bounded by grace), then SIGTERM, then SIGKILL once
// what is left of grace has passed. A grace of 0 (a force deletion) skips the hook.
func (c *container) stop(proc *process, inside execContext, grace time.Duration) {
	if hook := c.spec.Lifecycle; grace > 0 && hook != nil && hook.PreStop != nil && hook.PreStop.Exec != nil {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		err := inside.run(ctx, hook.PreStop.Exec.Command)
		cancel()
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			log.Printf("%s: preStop hook failed after %s: %v", c.w.name(c.spec.Name), took, err)
		} else {
			log.Printf("%s: preStop hook done in %s", c.w.name(c.spec.Name), took)
		}
		grace = max(grace-time.Since(start), preStopMinGrace)
	}
	proc.stop(grace)
}

// probe runs the startup probe until it passes, then the readiness and
// liveness probes. A failed startup or liveness probe sends the reason on kill.
func (c *container) probe(ctx context.Context, proc *process, inside execContext, kill chan<- string) {
	ip := c.w.podWithAddresses().Status.PodIP
	requestKill := func(reason string) {
		select {
		case kill <- reason:
		default:
		}
	}
	if p := c.spec.StartupProbe; p != nil {
		passed := false
		newProber(p, ip, c.spec.Ports, inside).run(ctx, func(ok bool, detail string) bool {
			if !ok {
				requestKill("startup probe failed: " + detail)
			}
			passed = ok
			return false
		})
		if !passed {
			return
		}
		c.setProbed(proc, func() { c.started = true; c.ready = c.spec.ReadinessProbe == nil })
	}
	if p := c.spec.ReadinessProbe; p != nil {
		go newProber(p, ip, c.spec.Ports, inside).run(ctx, func(ok bool, _ string) bool {
			c.setProbed(proc, func() { c.ready = ok })
			return true
		})
	}
	if p := c.spec.LivenessProbe; p != nil {
		go newProber(p, ip, c.spec.Ports, inside).run(ctx, func(ok bool, detail string) bool {
			if !ok {
				requestKill("liveness probe failed: " + detail)
			}
			return ok
		})
	}
}

// setProbed applies a probe's outcome if proc is still the running process
// (a late result must not mark the next run ready).
func (c *container) setProbed(proc *process, apply func()) {
	c.mu.Lock()
	if c.current != proc {
		c.mu.Unlock()
		return
	}
	before := [2]bool{c.started, c.ready}
	apply()
	changed := before != [2]bool{c.started, c.ready}
	c.mu.Unlock()
	if changed {
		c.w.notify()
	}
}
