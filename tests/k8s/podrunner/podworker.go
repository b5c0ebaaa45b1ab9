package main

import (
	"context"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podWorker runs one pod (one UID) bound to our node: gives it an address,
// runs its containers, reports its status, and carries out its deletion.
type podWorker struct {
	r         *Runner
	uid       types.UID
	key       string // namespace/name
	dir       string // the pod's working directory (and HOME), with its emptyDirs under volumes/
	logDir    string // one log file per container
	startTime metav1.Time
	initial   *v1.Pod // the pod as first seen; the fields the pod runner uses do not change later

	mu       sync.Mutex
	pod      *v1.Pod       // the latest version seen
	ip       netip.Addr    // invalid until the "sandbox" is set up
	stopping bool          // deleted or shutting down: no more restarts
	grace    time.Duration // how long a stopping container gets between SIGTERM and SIGKILL

	containers []*container
	changed    chan struct{} // a status-relevant fact changed (buffered 1: coalesces)
	deleted    chan struct{} // closed when the pod's deletionTimestamp is seen
	gone       chan struct{} // closed when the pod is no longer in the API
	deleteOnce sync.Once
	goneOnce   sync.Once
}

func newPodWorker(r *Runner, pod *v1.Pod) *podWorker {
	w := &podWorker{
		r:         r,
		uid:       pod.UID,
		key:       pod.Namespace + "/" + pod.Name,
		dir:       filepath.Join(r.cfg.podDir, string(pod.UID)),
		logDir:    filepath.Join(r.cfg.logDir, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID)),
		startTime: metav1.Now(),
		initial:   pod.DeepCopy(),
		pod:       pod.DeepCopy(),
		changed:   make(chan struct{}, 1),
		deleted:   make(chan struct{}),
		gone:      make(chan struct{}),
	}
	for i := range w.initial.Spec.Containers {
		w.containers = append(w.containers, newContainer(w, &w.initial.Spec.Containers[i]))
	}
	return w
}

// name is "namespace/pod" or "namespace/pod/container", for logs.
func (w *podWorker) name(container string) string {
	if container == "" {
		return w.key
	}
	return w.key + "/" + container
}

func (w *podWorker) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// update records a newer version of the pod from the API.
func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod.DeepCopy()
	w.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		w.deleteOnce.Do(func() { close(w.deleted) })
	}
}

func (w *podWorker) markGone() { w.goneOnce.Do(func() { close(w.gone) }) }

func (w *podWorker) spec() *v1.PodSpec { return &w.initial.Spec }

// podWithAddresses is the latest pod with the addresses this node gave it,
// for the downward API (the API may not have them yet).
func (w *podWorker) podWithAddresses() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod := w.pod.DeepCopy()
	pod.Spec.NodeName = w.r.cfg.nodeName
	pod.Status.HostIP = w.r.cfg.nodeIP.String()
	pod.Status.HostIPs = []v1.HostIP{{IP: pod.Status.HostIP}}
	if w.ip.IsValid() {
		pod.Status.PodIP = w.ip.String()
		pod.Status.PodIPs = []v1.PodIP{{IP: pod.Status.PodIP}}
	}
	return pod
}

// podGrace is the pod's terminationGracePeriodSeconds (default 30 s).
func (w *podWorker) podGrace() time.Duration {
	if g := w.spec().TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

func (w *podWorker) stopGrace() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.grace
}

// run is the pod's life on this node. ctx ends when the pod runner shuts down.
func (w *podWorker) run(ctx context.Context) {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		log.Printf("%s: %v", w.key, err)
	}
	if err := createVolumes(w.spec(), w.dir); err != nil {
		log.Printf("%s: volumes: %v", w.key, err)
	}
	if err := os.MkdirAll(w.logDir, 0o755); err != nil {
		log.Printf("%s: %v", w.key, err)
	}
	ip, err := w.setUpAddress()
	if err != nil {
		// Like a failed sandbox: the containers stay ContainerCreating until
		// the pod goes away.
		log.Printf("%s: no pod address: %v", w.key, err)
		for _, c := range w.containers {
			c.setWaiting("ContainerCreating", "no pod address: "+err.Error())
		}
	}
	defer w.releaseAddress(ip)

	containersCtx, stopContainers := context.WithCancel(context.Background())
	defer stopContainers()
	var running sync.WaitGroup
	var finished <-chan struct{} // closed when every container is done for good; nil (never) without an address
	if err == nil {
		for _, c := range w.containers {
			running.Add(1)
			go func() {
				defer running.Done()
				c.run(containersCtx)
			}()
		}
		allDone := make(chan struct{})
		go func() {
			running.Wait()
			close(allDone)
		}()
		finished = allDone
	}
	stop := func(grace time.Duration) {
		w.mu.Lock()
		w.stopping, w.grace = true, grace
		w.mu.Unlock()
		stopContainers()
		running.Wait()
	}

	// A periodic push as well: it retries a failed update and repairs a status
	// someone else overwrote.
	resync := time.NewTicker(10 * time.Second)
	defer resync.Stop()
	w.pushStatus()
	for {
		select {
		case <-w.changed:
			w.pushStatus()
		case <-resync.C:
			w.pushStatus()
		case <-finished:
			// Every container finished and none restarts: the pod is terminal.
			w.pushStatus()
			log.Printf("%s: finished", w.key)
			w.removeDir()
			return
		case <-w.deleted:
			grace := w.podGrace()
			if g := w.latest().DeletionGracePeriodSeconds; g != nil {
				grace = time.Duration(*g) * time.Second
			}
			log.Printf("%s: deleted; stopping its containers (grace %s)", w.key, grace)
			stop(grace)
			w.pushStatus()
			w.removeDir()
			w.finishDeletion()
			return
		case <-w.gone:
			log.Printf("%s: removed from the API; killing its containers", w.key)
			stop(0)
			w.removeDir()
			return
		case <-ctx.Done():
			stop(min(w.podGrace(), w.r.cfg.shutdownGrace))
			return
		}
	}
}

func (w *podWorker) latest() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// removeDir removes the pod's directory with its emptyDir volumes, once its
// containers are stopped for good: the kubelet tears down the volumes of a
// pod that finished or is deleted. (When the pod runner shuts down, they
// are kept: a pod runner started again runs the same pods again and finds
// them, as a restarted kubelet does.)
func (w *podWorker) removeDir() {
	if err := os.RemoveAll(w.dir); err != nil {
		log.Printf("%s: removing its directory: %v", w.key, err)
	}
}

// setUpAddress gives the pod its IP: the node's for hostNetwork pods, else a
// free one from the pod CIDR, added to lo.
func (w *podWorker) setUpAddress() (netip.Addr, error) {
	ip := w.r.cfg.nodeIP
	if !w.initial.Spec.HostNetwork {
		var err error
		if ip, err = w.r.ips.allocate(); err != nil {
			return netip.Addr{}, err
		}
		if err = addLoopbackIP(ip); err != nil {
			w.r.ips.release(ip)
			return netip.Addr{}, err
		}
	}
	w.mu.Lock()
	w.ip = ip
	w.mu.Unlock()
	return ip, nil
}

func (w *podWorker) releaseAddress(ip netip.Addr) {
	if !ip.IsValid() || w.initial.Spec.HostNetwork {
		return
	}
	if err := delLoopbackIP(ip); err != nil {
		log.Printf("%s: %v", w.key, err)
	}
	w.r.ips.release(ip)
}

// finishDeletion removes the stopped pod from the API (grace 0, only this
// UID), which is the kubelet's last step of a graceful deletion.
func (w *podWorker) finishDeletion() {
	if err := w.r.deletePodNow(w.latest()); err != nil {
		log.Printf("%s: completing the deletion: %v", w.key, err)
	}
}

// pushStatus sends the pod's status to the API if it changed.
func (w *podWorker) pushStatus() {
	statuses := make([]v1.ContainerStatus, 0, len(w.containers))
	for _, c := range w.containers {
		statuses = append(statuses, c.status())
	}
	w.mu.Lock()
	facts := podFacts{
		spec:       &w.initial.Spec,
		generation: w.pod.Generation,
		hostIP:     w.r.cfg.nodeIP.String(),
		startTime:  w.startTime,
		containers: statuses,
		stopping:   w.stopping,
	}
	if w.ip.IsValid() {
		facts.podIP = w.ip.String()
	}
	base := w.pod
	w.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for attempt := 0; attempt < 5; attempt++ {
		status := podStatus(base.Status, facts, metav1.Now())
		if equality.Semantic.DeepEqual(&status, &base.Status) {
			return
		}
		next := base.DeepCopy()
		next.Status = status
		updated, err := w.r.client.CoreV1().Pods(next.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		switch {
		case err == nil:
			w.update(updated)
			return
		case apierrors.IsNotFound(err):
			return
		case apierrors.IsConflict(err):
			if base, err = w.r.client.CoreV1().Pods(next.Namespace).Get(ctx, next.Name, metav1.GetOptions{}); err != nil {
				log.Printf("%s: status: %v", w.key, err)
				return
			}
			if base.UID != w.uid {
				return
			}
		default:
			log.Printf("%s: status update: %v", w.key, err)
			return
		}
	}
}
