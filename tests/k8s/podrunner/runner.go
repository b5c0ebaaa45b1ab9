package main

import (
	"context"
	"log"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Runner plays the kubelet (and, as no scheduler runs, the scheduler) for
// one node: it binds pending pods to the node and runs the pods bound to it.
type Runner struct {
	cfg    config
	client kubernetes.Interface
	images imageResolver
	ips    *ipPool

	pods  listersv1.PodLister
	queue workqueue.TypedRateLimitingInterface[string] // pod keys (namespace/name) to reconcile

	mu       sync.Mutex
	workers  map[types.UID]*podWorker
	finished map[types.UID]string // pods that ran to a terminal phase here → their key
	stopped  sync.WaitGroup       // one per worker
}

func newRunner(cfg config, client kubernetes.Interface) *Runner {
	return &Runner{
		cfg:      cfg,
		client:   client,
		images:   imageResolver{dir: cfg.imageDir},
		ips:      newIPPool(cfg.podCIDR, cfg.nodeIP),
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		workers:  map[types.UID]*podWorker{},
		finished: map[types.UID]string{},
	}
}

// run watches all pods until ctx ends, then stops every pod's processes
// before returning.
func (r *Runner) run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(r.client, 0)
	informer := factory.Core().V1().Pods()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			r.queue.Add(key)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	r.pods = informer.Lister()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	go func() {
		<-ctx.Done()
		r.queue.ShutDown()
	}()
	for r.processNext(ctx) {
	}
	log.Printf("shutting down: stopping all pods")
	r.stopped.Wait()
	factory.Shutdown()
	return nil
}

func (r *Runner) processNext(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	if err := r.reconcile(ctx, key); err != nil {
		log.Printf("%s: %v (will retry)", key, err)
		r.queue.AddRateLimited(key)
		return true
	}
	r.queue.Forget(key)
	return true
}

// reconcile brings one pod key in line: bind it, start it, pass it its
// deletion, or stop a pod that is no longer in the API.
func (r *Runner) reconcile(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := r.pods.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		pod, err = nil, nil
	}
	if err != nil {
		return err
	}

	r.mu.Lock()
	// Workers of earlier pods of that name (a StatefulSet reuses names) whose
	// object is gone: force-deleted, or deleted after the worker finished.
	for uid, w := range r.workers {
		if w.key == key && (pod == nil || pod.UID != uid) {
			w.markGone()
		}
	}
	for uid, k := range r.finished {
		if k == key && (pod == nil || pod.UID != uid) {
			delete(r.finished, uid)
		}
	}
	var worker *podWorker
	done := false
	if pod != nil {
		worker = r.workers[pod.UID]
		_, done = r.finished[pod.UID]
	}
	r.mu.Unlock()

	switch {
	case pod == nil:
		return nil
	case pod.Spec.NodeName == "":
		if pod.DeletionTimestamp != nil || isTerminal(pod) {
			return nil
		}
		return r.bind(ctx, pod)
	case pod.Spec.NodeName != r.cfg.nodeName:
		return nil
	case worker != nil:
		worker.update(pod)
		return nil
	case done || isTerminal(pod) || pod.DeletionTimestamp != nil:
		// Nothing runs for it here: a deleted pod only needs its deletion
		// completed.
		if pod.DeletionTimestamp != nil {
			return r.deletePodNow(pod)
		}
		return nil
	}
	r.startWorker(ctx, pod)
	return nil
}

func isTerminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

// How often a pending pod is looked at again while our node is cordoned (the
// pod informer does not tell when the node is uncordoned).
const cordonedRetry = 2 * time.Second

// bind assigns a pending pod to our node, the scheduler's job: any pod without
// a node, unless our node is cordoned (spec.unschedulable, as `kubectl cordon`
// and `kubectl drain` set it). With other runners, the first bind wins.
func (r *Runner) bind(ctx context.Context, pod *v1.Pod) error {
	node, err := r.client.CoreV1().Nodes().Get(ctx, r.cfg.nodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if node.Spec.Unschedulable {
		key, _ := cache.MetaNamespaceKeyFunc(pod)
		r.queue.AddAfter(key, cordonedRetry)
		return nil
	}
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: r.cfg.nodeName},
	}
	err = r.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // bound meanwhile, or gone; the informer brings the news
	}
	if err == nil {
		log.Printf("%s/%s: bound to %s", pod.Namespace, pod.Name, r.cfg.nodeName)
	}
	return err
}

func (r *Runner) startWorker(ctx context.Context, pod *v1.Pod) {
	w := newPodWorker(r, pod)
	r.mu.Lock()
	r.workers[pod.UID] = w
	r.mu.Unlock()
	r.stopped.Add(1)
	log.Printf("%s: starting (uid %s)", w.key, pod.UID)
	go func() {
		defer r.stopped.Done()
		w.run(ctx)
		r.mu.Lock()
		delete(r.workers, w.uid)
		r.finished[w.uid] = w.key
		r.mu.Unlock()
		// The pod may have changed while the worker ended (e.g. deleted
		// after it finished): look at it again.
		if ctx.Err() == nil {
			r.queue.Add(w.key)
		}
	}()
}

// deletePodNow completes a pod's deletion: grace 0, and only if it is still
// the same pod (UID precondition), so a successor of the same name is safe.
func (r *Runner) deletePodNow(pod *v1.Pod) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	zero := int64(0)
	err := r.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		log.Printf("%s/%s: deletion completed", pod.Namespace, pod.Name)
	}
	return err
}
