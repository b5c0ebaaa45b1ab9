package main

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestExpandFollowsKubernetesRules(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	for in, want := range map[string]string{
		"$(A)-$(B)":    "1-two",
		"$(UNDEFINED)": "$(UNDEFINED)",
		"$$(A)":        "$(A)",
		"$$$(A)":       "$1",
		"cost: $5":     "cost: $5",
		"$(A":          "$(A",
		"end $":        "end $",
		"":             "",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageName(t *testing.T) {
	for in, want := range map[string]string{
		"stego-worker":                                    "stego-worker",
		"stego-worker:1.2":                                "stego-worker",
		"registry.example:5000/a/stego-worker":            "stego-worker",
		"registry.example/a/stego-worker:e2e@sha256:0123": "stego-worker",
		"sh": "sh",
	} {
		if got := imageName(in); got != want {
			t.Errorf("imageName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPodPhase(t *testing.T) {
	running := v1.ContainerStatus{State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}
	creating := v1.ContainerStatus{State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	exited := func(code int32) v1.ContainerStatus {
		return v1.ContainerStatus{State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}}
	}
	backingOff := v1.ContainerStatus{
		State:                v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1}},
	}
	for _, c := range []struct {
		name       string
		policy     v1.RestartPolicy
		containers []v1.ContainerStatus
		stopping   bool
		want       v1.PodPhase
	}{
		{"not started yet", v1.RestartPolicyAlways, []v1.ContainerStatus{running, creating}, false, v1.PodPending},
		{"running", v1.RestartPolicyAlways, []v1.ContainerStatus{running, exited(0)}, false, v1.PodRunning},
		{"crash loop", v1.RestartPolicyAlways, []v1.ContainerStatus{backingOff}, false, v1.PodRunning},
		{"always, all ended, restarting", v1.RestartPolicyAlways, []v1.ContainerStatus{exited(0)}, false, v1.PodRunning},
		{"never, all succeeded", v1.RestartPolicyNever, []v1.ContainerStatus{exited(0), exited(0)}, false, v1.PodSucceeded},
		{"never, one failed", v1.RestartPolicyNever, []v1.ContainerStatus{exited(0), exited(2)}, false, v1.PodFailed},
		{"on failure, one failed", v1.RestartPolicyOnFailure, []v1.ContainerStatus{exited(0), exited(2)}, false, v1.PodRunning},
		{"on failure, all succeeded", v1.RestartPolicyOnFailure, []v1.ContainerStatus{exited(0)}, false, v1.PodSucceeded},
		{"deleted after a clean stop", v1.RestartPolicyAlways, []v1.ContainerStatus{exited(0)}, true, v1.PodSucceeded},
		{"deleted, killed", v1.RestartPolicyAlways, []v1.ContainerStatus{exited(137)}, true, v1.PodFailed},
		{"deleted before starting", v1.RestartPolicyAlways, []v1.ContainerStatus{creating}, true, v1.PodFailed},
	} {
		if got := podPhase(c.policy, c.containers, c.stopping); got != c.want {
			t.Errorf("%s: phase %s, want %s", c.name, got, c.want)
		}
	}
}
