package main

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podFacts is what the pod runner knows about a pod it runs.
type podFacts struct {
	spec       *v1.PodSpec
	generation int64
	hostIP     string
	podIP      string // empty until the pod has an address
	startTime  metav1.Time
	containers []v1.ContainerStatus // in spec order
	stopping   bool                 // deleted: nothing restarts any more
}

// The pod conditions the pod runner owns; any other condition (readiness
// gates, DisruptionTarget, ...) belongs to someone else and is kept.
var ownConditions = []v1.PodConditionType{
	v1.PodScheduled, v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady, v1.PodReady,
}

// podStatus derives the pod's status from the facts, starting from the
// status in the API (base), following the kubelet's conventions.
func podStatus(base v1.PodStatus, f podFacts, now metav1.Time) v1.PodStatus {
	s := *base.DeepCopy()
	s.ObservedGeneration = f.generation
	s.HostIP = f.hostIP
	s.HostIPs = []v1.HostIP{{IP: f.hostIP}}
	s.PodIP, s.PodIPs = "", nil
	if f.podIP != "" {
		s.PodIP = f.podIP
		s.PodIPs = []v1.PodIP{{IP: f.podIP}}
	}
	if s.StartTime == nil {
		start := f.startTime
		s.StartTime = &start
	}
	s.ContainerStatuses = slices.Clone(f.containers)
	// The kubelet lists container statuses by name.
	slices.SortFunc(s.ContainerStatuses, func(a, b v1.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })
	s.Phase = podPhase(f.spec.RestartPolicy, f.containers, f.stopping)

	terminal := s.Phase == v1.PodSucceeded || s.Phase == v1.PodFailed
	var unready []string
	for _, c := range f.containers {
		if !c.Ready {
			unready = append(unready, c.Name)
		}
	}
	set := func(t v1.PodConditionType, ok bool, reason, message string) {
		setCondition(&s, t, ok, reason, message, f.generation, now)
	}
	set(v1.PodScheduled, true, "", "")
	set(v1.PodReadyToStartContainers, f.podIP != "" && !terminal, "", "")
	if terminal {
		set(v1.PodInitialized, true, "PodCompleted", "")
	} else {
		set(v1.PodInitialized, true, "", "")
	}
	switch {
	case terminal:
		set(v1.ContainersReady, false, "PodCompleted", "")
		set(v1.PodReady, false, "PodCompleted", "")
	case len(unready) > 0:
		message := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
		set(v1.ContainersReady, false, "ContainersNotReady", message)
		set(v1.PodReady, false, "ContainersNotReady", message)
	default:
		set(v1.ContainersReady, true, "", "")
		if gates := unmetReadinessGates(&s, f.spec); len(gates) > 0 {
			set(v1.PodReady, false, "ReadinessGatesNotReady",
				fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist or is not True", gates[0]))
		} else {
			set(v1.PodReady, true, "", "")
		}
	}
	// Own conditions in a fixed order after the others, so that an unchanged
	// status compares equal.
	slices.SortStableFunc(s.Conditions, func(a, b v1.PodCondition) int {
		return slices.Index(ownConditions, a.Type) - slices.Index(ownConditions, b.Type)
	})
	return s
}

func unmetReadinessGates(s *v1.PodStatus, spec *v1.PodSpec) []string {
	var unmet []string
	for _, gate := range spec.ReadinessGates {
		i := slices.IndexFunc(s.Conditions, func(c v1.PodCondition) bool { return c.Type == gate.ConditionType })
		if i < 0 || s.Conditions[i].Status != v1.ConditionTrue {
			unmet = append(unmet, string(gate.ConditionType))
		}
	}
	return unmet
}

// setCondition sets one condition, keeping its lastTransitionTime unless its
// status changes.
func setCondition(s *v1.PodStatus, t v1.PodConditionType, ok bool, reason, message string, generation int64, now metav1.Time) {
	status := v1.ConditionFalse
	if ok {
		status = v1.ConditionTrue
	}
	c := v1.PodCondition{Type: t, Status: status, Reason: reason, Message: message, ObservedGeneration: generation, LastTransitionTime: now}
	i := slices.IndexFunc(s.Conditions, func(c v1.PodCondition) bool { return c.Type == t })
	if i < 0 {
		s.Conditions = append(s.Conditions, c)
		return
	}
	if s.Conditions[i].Status == status {
		c.LastTransitionTime = s.Conditions[i].LastTransitionTime
	}
	s.Conditions[i] = c
}

// podPhase follows the kubelet: Pending while a container has not run yet,
// Running while one runs or will be restarted, and Succeeded or Failed once
// all have ended for good (every container is done for good once the pod is
// being deleted).
func podPhase(policy v1.RestartPolicy, containers []v1.ContainerStatus, stopping bool) v1.PodPhase {
	running, notYetRun, ended, succeeded := 0, 0, 0, 0
	for _, c := range containers {
		switch {
		case c.State.Running != nil:
			running++
		case c.State.Terminated != nil:
			ended++
			if c.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case c.LastTerminationState.Terminated != nil: // waiting to restart
			ended++
		default:
			notYetRun++
		}
	}
	switch {
	case notYetRun > 0 && stopping:
		return v1.PodFailed
	case notYetRun > 0:
		return v1.PodPending
	case running > 0:
		return v1.PodRunning
	case !stopping && policy == v1.RestartPolicyAlways:
		return v1.PodRunning
	case !stopping && policy == v1.RestartPolicyOnFailure && succeeded < ended:
		return v1.PodRunning
	case succeeded == len(containers):
		return v1.PodSucceeded
	}
	return v1.PodFailed
}
