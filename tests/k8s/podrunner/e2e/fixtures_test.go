package e2e

import (
	"context"
	"net/netip"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// checkRunningPod checks the status the pod runner reports for a running,
// ready pod.
func checkRunningPod(t *testing.T, pod *v1.Pod) {
	t.Helper()
	ip, err := netip.ParseAddr(pod.Status.PodIP)
	if err != nil || !podCIDR.Contains(ip) || len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != pod.Status.PodIP {
		t.Errorf("%s: podIP %q / podIPs %v, want one address in %s", pod.Name, pod.Status.PodIP, pod.Status.PodIPs, podCIDR)
	}
	if pod.Spec.NodeName != nodeName || pod.Status.HostIP != "10.244.0.1" || pod.Status.StartTime == nil || pod.Status.Phase != v1.PodRunning {
		t.Errorf("%s: node %q hostIP %q startTime %v phase %s", pod.Name, pod.Spec.NodeName, pod.Status.HostIP, pod.Status.StartTime, pod.Status.Phase)
	}
	for _, want := range []v1.PodConditionType{v1.PodScheduled, v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		if !hasCondition(pod, want, v1.ConditionTrue) {
			t.Errorf("%s: condition %s is not True: %v", pod.Name, want, pod.Status.Conditions)
		}
	}
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("%s: container statuses %v", pod.Name, pod.Status.ContainerStatuses)
	}
	c := pod.Status.ContainerStatuses[0]
	if c.Name != "worker" || !c.Ready || c.Started == nil || !*c.Started || c.State.Running == nil || c.RestartCount != 0 {
		t.Errorf("%s: container status %s", pod.Name, describe(pod))
	}
}

// checkTerminatedPod checks a one-shot pod that has ended with code.
func checkTerminatedPod(t *testing.T, pod *v1.Pod, code int32, reason string) {
	t.Helper()
	c := pod.Status.ContainerStatuses
	if len(c) != 1 || c[0].State.Terminated == nil || c[0].State.Terminated.ExitCode != code ||
		c[0].State.Terminated.Reason != reason || c[0].Ready || c[0].RestartCount != 0 {
		t.Errorf("%s: %s; want terminated with code %d, reason %s, no restarts", pod.Name, describe(pod), code, reason)
	}
	if isReady(pod) || !hasCondition(pod, v1.PodScheduled, v1.ConditionTrue) {
		t.Errorf("%s: conditions %v", pod.Name, pod.Status.Conditions)
	}
}

func hasCondition(pod *v1.Pod, t v1.PodConditionType, status v1.ConditionStatus) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == status
		}
	}
	return false
}

// createFixtures creates the Secret, ConfigMap, Services (headless stego and
// stego-all, ClusterIP stego-a and stego-b), the StatefulSet of
// three stego-workers and three one-shot pods.
func createFixtures(t *testing.T, ctx context.Context, client kubernetes.Interface) {
	t.Helper()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: namespace} }
	must(client.CoreV1().Secrets(namespace).Create(ctx, &v1.Secret{
		ObjectMeta: meta("stego-admin"), StringData: map[string]string{"key": adminKey},
	}, metav1.CreateOptions{}))
	must(client.CoreV1().ConfigMaps(namespace).Create(ctx, &v1.ConfigMap{
		ObjectMeta: meta("e2e-config"), Data: map[string]string{"greeting": "hello", "level": "debug"},
	}, metav1.CreateOptions{}))
	service := func(name string, selector map[string]string, headless bool) *v1.Service {
		s := &v1.Service{ObjectMeta: meta(name), Spec: v1.ServiceSpec{
			Selector: selector,
			Ports:    []v1.ServicePort{{Name: "http", Port: 8080, TargetPort: intstr.FromString("http")}},
		}}
		if headless {
			s.Spec.ClusterIP = v1.ClusterIPNone
		}
		return s
	}
	// Like a peers Service: its DNS name lists unready pods too.
	all := service("stego-all", map[string]string{"app": "stego"}, true)
	all.Spec.PublishNotReadyAddresses = true
	for _, s := range []*v1.Service{
		service("stego", map[string]string{"app": "stego"}, true), // the StatefulSet's governing Service
		all,
		service("stego-a", map[string]string{"app": "stego", "tier": "a"}, false),
		service("stego-b", map[string]string{"app": "stego", "tier": "b"}, false),
	} {
		must(client.CoreV1().Services(namespace).Create(ctx, s, metav1.CreateOptions{}))
	}

	fieldEnv := func(name, path string) v1.EnvVar {
		return v1.EnvVar{Name: name, ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: path}}}
	}
	httpProbe := func(path string, period, failures int32) *v1.Probe {
		return &v1.Probe{
			ProbeHandler:  v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: period, FailureThreshold: failures,
		}
	}
	must(client.AppsV1().StatefulSets(namespace).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: meta("stego"),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(3)),
			ServiceName:         "stego",
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "stego"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "stego", "tier": "a"}},
				Spec: v1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To(int64(workerGrace)),
					Containers: []v1.Container{{
						Name:  "worker",
						Image: "registry.example/stego/stego-worker:e2e",
						Args:  []string{"--node-id=$(POD_NAME)", "--http=$(POD_IP):8080", "--threads=1"},
						Env: []v1.EnvVar{
							fieldEnv("POD_NAME", "metadata.name"),
							fieldEnv("POD_IP", "status.podIP"),
							{Name: "STEGO_ADMIN_KEY", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{
								LocalObjectReference: v1.LocalObjectReference{Name: "stego-admin"}, Key: "key",
							}}},
							{Name: "STEGO_DATA_DIR", Value: volumePath}, // --data-dir on the pod's emptyDir
						},
						VolumeMounts:   []v1.VolumeMount{{Name: "data", MountPath: volumePath}},
						Ports:          []v1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: httpProbe("/readyz", 1, 1),
						LivenessProbe:  httpProbe("/healthz", 2, 3),
					}},
					Volumes: []v1.Volume{emptyDirVolume("data")},
				},
			},
		},
	}, metav1.CreateOptions{}))

	oneShot := func(name string, policy v1.RestartPolicy, script string, env ...v1.EnvVar) *v1.Pod {
		return &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"role": "tester"}},
			Spec: v1.PodSpec{
				RestartPolicy: policy,
				Containers: []v1.Container{{
					Name: "main", Image: "sh", Command: []string{"/bin/sh", "-c", script}, Env: env,
				}},
			},
		}
	}
	envPod := oneShot("envpod", v1.RestartPolicyNever, `env; echo "ARGS=$0 $1"`,
		fieldEnv("POD_NAME", "metadata.name"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		fieldEnv("POD_IP", "status.podIP"),
		fieldEnv("NODE_NAME", "spec.nodeName"),
		fieldEnv("ROLE", "metadata.labels['role']"),
		v1.EnvVar{Name: "ADMIN_KEY", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{
			LocalObjectReference: v1.LocalObjectReference{Name: "stego-admin"}, Key: "key",
		}}},
		v1.EnvVar{Name: "GREETING", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
			LocalObjectReference: v1.LocalObjectReference{Name: "e2e-config"}, Key: "greeting",
		}}},
		v1.EnvVar{Name: "COMBINED", Value: "$(POD_NAME)-$(GREETING)-$(UNDEFINED)"},
	)
	envPod.Spec.Containers[0].EnvFrom = []v1.EnvFromSource{{
		Prefix: "CFG_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "e2e-config"}},
	}}
	// $(POD_NAME) in args is expanded; $$(POD_NAME) is the escape for a literal.
	envPod.Spec.Containers[0].Args = []string{"$(POD_NAME)", "$$(POD_NAME)"}
	// Ready once its exec readiness probe finds the file it creates after a
	// second; its tcpSocket liveness probe can never connect, so it is
	// restarted after the initial delay plus two failed probes.
	probePod := oneShot("probepod", v1.RestartPolicyAlways, "sleep 1; touch ready; exec sleep 1000")
	probePod.Spec.TerminationGracePeriodSeconds = ptr.To(int64(5))
	probePod.Spec.Containers[0].ReadinessProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "test -f ready"}}},
		PeriodSeconds: 1,
	}
	probePod.Spec.Containers[0].LivenessProbe = &v1.Probe{
		ProbeHandler:        v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(9)}},
		InitialDelaySeconds: 4, PeriodSeconds: 1, FailureThreshold: 2,
	}
	for _, pod := range []*v1.Pod{
		envPod,
		probePod,
		oneShot("failpod", v1.RestartPolicyNever, "exit 3"),
		oneShot("crashpod", v1.RestartPolicyAlways, "echo crashing; exit 3"),
	} {
		must(client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}))
	}
}
