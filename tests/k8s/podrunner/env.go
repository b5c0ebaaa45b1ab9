package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// expand replaces $(NAME) references the way Kubernetes does in env values,
// command and args: a defined NAME is replaced by its value, an undefined one
// stays as written, and $$ is a literal $ (so "$$(X)" gives "$(X)").
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if value, ok := lookup(name); ok {
				b.WriteString(value)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// environment is an ordered set of variables: a later definition replaces an
// earlier one but keeps its place, as in the container runtime.
type environment struct {
	names  []string
	values map[string]string
}

func (e *environment) set(name, value string) {
	if e.values == nil {
		e.values = map[string]string{}
	}
	if _, ok := e.values[name]; !ok {
		e.names = append(e.names, name)
	}
	e.values[name] = value
}

func (e *environment) lookup(name string) (string, bool) {
	value, ok := e.values[name]
	return value, ok
}

func (e *environment) list() []string {
	out := make([]string, 0, len(e.names))
	for _, name := range e.names {
		out = append(out, name+"="+e.values[name])
	}
	return out
}

// containerEnv builds a container's environment as the kubelet would:
// a base (PATH, HOSTNAME, HOME), then envFrom sources in order, then env
// entries, each env value expanded against what is defined before it.
// The pod runner's own environment is not passed on.
func containerEnv(ctx context.Context, client kubernetes.Interface, pod *v1.Pod, c *v1.Container, home string) (*environment, error) {
	env := &environment{}
	env.set("PATH", os.Getenv("PATH"))
	hostname := pod.Spec.Hostname
	if hostname == "" {
		hostname = pod.Name
	}
	env.set("HOSTNAME", hostname)
	env.set("HOME", home)

	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, client, pod.Namespace, from)
		if err != nil {
			return nil, err
		}
		for _, key := range slices.Sorted(maps.Keys(data)) {
			if validEnvName.MatchString(from.Prefix + key) {
				env.set(from.Prefix+key, data[key])
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env.set(e.Name, expand(e.Value, env.lookup))
			continue
		}
		value, found, err := envValueFrom(ctx, client, pod, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if found {
			env.set(e.Name, value)
		}
	}
	return env, nil
}

// Keys of a ConfigMap or Secret that are not valid variable names are skipped,
// as the kubelet does.
var validEnvName = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)

func envFromData(ctx context.Context, client kubernetes.Interface, namespace string, from v1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := client.CoreV1().ConfigMaps(namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && optional(from.ConfigMapRef.Optional) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("configmap %q: %w", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		secret, err := client.CoreV1().Secrets(namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && optional(from.SecretRef.Optional) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", from.SecretRef.Name, err)
		}
		data := map[string]string{}
		for key, value := range secret.Data {
			data[key] = string(value)
		}
		return data, nil
	}
	return nil, fmt.Errorf("envFrom without configMapRef or secretRef")
}

func optional(b *bool) bool { return b != nil && *b }

// envValueFrom resolves one valueFrom; found is false for an optional
// reference that does not exist (the variable is then left out).
func envValueFrom(ctx context.Context, client kubernetes.Interface, pod *v1.Pod, from *v1.EnvVarSource) (value string, found bool, err error) {
	switch {
	case from.FieldRef != nil:
		value, err = podField(pod, from.FieldRef.FieldPath)
		return value, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configmap %q: %w", ref.Name, err)
		}
		value, found = cm.Data[ref.Key]
		if !found && !optional(ref.Optional) {
			return "", false, fmt.Errorf("configmap %q has no key %q", ref.Name, ref.Key)
		}
		return value, found, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		secret, err := client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %q: %w", ref.Name, err)
		}
		bytes, found := secret.Data[ref.Key]
		if !found && !optional(ref.Optional) {
			return "", false, fmt.Errorf("secret %q has no key %q", ref.Name, ref.Key)
		}
		return string(bytes), found, nil
	}
	return "", false, fmt.Errorf("unsupported valueFrom (the pod runner resolves fieldRef, configMapKeyRef and secretKeyRef)")
}

// podField resolves a downward-API field path for an environment variable.
func podField(pod *v1.Pod, path string) (string, error) {
	if key, ok := mapKey(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := mapKey(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.hostIPs":
		ips := make([]string, 0, len(pod.Status.HostIPs))
		for _, ip := range pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	case "status.podIPs":
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// mapKey parses "metadata.labels['app']" (single or double quotes) into "app".
func mapKey(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"[")
	if !ok || len(rest) < 3 || !strings.HasSuffix(rest, "]") {
		return "", false
	}
	quoted := rest[:len(rest)-1]
	if q := quoted[0]; (q == '\'' || q == '"') && quoted[len(quoted)-1] == q {
		return quoted[1 : len(quoted)-1], true
	}
	return "", false
}
