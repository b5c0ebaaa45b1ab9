package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// prober runs one probe of one container run, with the kubelet's defaults.
type prober struct {
	probe  *v1.Probe
	podIP  string
	ports  []v1.ContainerPort
	inside execContext // where an exec probe runs: the container's command mapping, environment, directory and mounts
	client *http.Client
}

// execContext is where an exec probe or hook runs.
type execContext struct {
	argv   func(command []string) ([]string, error)
	env    []string
	dir    string
	mounts *mountPlan // the container's volume mounts, nil if none
}

func newProber(probe *v1.Probe, podIP string, ports []v1.ContainerPort, inside execContext) *prober {
	return &prober{
		probe: probe, podIP: podIP, ports: ports, inside: inside,
		client: &http.Client{
			// Like the kubelet: a fresh connection per probe, no certificate
			// checks, and a redirect counts as success rather than being followed.
			Transport: &http.Transport{
				DisableKeepAlives: true,
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as the kubelet's
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// run probes after initialDelaySeconds, every periodSeconds, and calls report
// with true after successThreshold successes in a row and with false after
// failureThreshold failures in a row (again on every further probe while the
// outcome holds). It returns when ctx ends or report returns false.
func (p *prober) run(ctx context.Context, report func(ok bool, detail string) (more bool)) {
	period := time.Duration(orDefault(p.probe.PeriodSeconds, 10)) * time.Second
	timeout := time.Duration(orDefault(p.probe.TimeoutSeconds, 1)) * time.Second
	successes, failures := 0, 0
	wait := time.Duration(p.probe.InitialDelaySeconds) * time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = period
		probeCtx, cancel := context.WithTimeout(ctx, timeout)
		err := p.check(probeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			successes, failures = successes+1, 0
			if successes >= int(orDefault(p.probe.SuccessThreshold, 1)) && !report(true, "") {
				return
			}
		} else {
			successes, failures = 0, failures+1
			if failures >= int(orDefault(p.probe.FailureThreshold, 3)) && !report(false, err.Error()) {
				return
			}
		}
	}
}

func (p *prober) check(ctx context.Context) error {
	h := p.probe.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		return p.checkHTTP(ctx, h.HTTPGet)
	case h.TCPSocket != nil:
		return p.checkTCP(ctx, h.TCPSocket)
	case h.Exec != nil:
		return p.checkExec(ctx, h.Exec)
	}
	return fmt.Errorf("unsupported probe (the pod runner runs httpGet, tcpSocket and exec probes)")
}

// resolvePort turns a probe's port (number or container port name) into a number.
func (p *prober) resolvePort(port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, cp := range p.ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}

func (p *prober) host(host string) string {
	if host != "" {
		return host
	}
	return p.podIP
}

func (p *prober) checkHTTP(ctx context.Context, g *v1.HTTPGetAction) error {
	port, err := p.resolvePort(g.Port)
	if err != nil {
		return err
	}
	scheme := "http"
	if g.Scheme == v1.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	target := &url.URL{Scheme: scheme, Host: net.JoinHostPort(p.host(g.Host), strconv.Itoa(port))}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/podrunner")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
		} else {
			req.Header.Add(h.Name, h.Value)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

func (p *prober) checkTCP(ctx context.Context, t *v1.TCPSocketAction) error {
	port, err := p.resolvePort(t.Port)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(p.host(t.Host), strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

func (p *prober) checkExec(ctx context.Context, e *v1.ExecAction) error {
	if err := p.inside.run(ctx, e.Command); err != nil {
		return fmt.Errorf("exec probe: %w", err)
	}
	return nil
}

// run executes command inside the container (its command mapping, environment,
// directory and mounts) until it exits or ctx ends; a failure carries the output.
func (inside execContext) run(ctx context.Context, command []string) error {
	if len(command) == 0 {
		return fmt.Errorf("no command")
	}
	argv, err := inside.argv(command)
	if err != nil {
		return err
	}
	cmd, err := newCommand(ctx, argv, inside.dir, inside.mounts)
	if err != nil {
		return err
	}
	cmd.Env = inside.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
