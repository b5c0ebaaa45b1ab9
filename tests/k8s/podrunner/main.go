// podrunner is a test-only stand-in for the kubelet (and the scheduler) on a
// test control plane without nodes: it registers a Ready node, binds pending
// pods to it (unless it is cordoned) and runs each pod's containers as local
// processes, with their own IP on lo, probes, preStop exec hooks, restarts and
// graceful deletion. Several runners with their own --node-name and --pod-cidr
// make several nodes; a pending pod goes to whichever binds it first. See
// docs/testing.md, "Test pod runner".
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type config struct {
	kubeconfig     string
	nodeName       string
	imageDir       string
	logDir         string
	podDir         string
	podCIDR        netip.Prefix
	nodeIP         netip.Addr
	kubeletVersion string
	backoffInitial time.Duration
	backoffMax     time.Duration
	shutdownGrace  time.Duration
	allowHostNetns bool
	clusterDNS     netip.AddrPort // zero: no cluster DNS
	clusterDomain  string
}

func parseFlags() (config, error) {
	var cfg config
	var podCIDR, nodeIP, clusterDNS string
	flag.StringVar(&cfg.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the control plane (default $KUBECONFIG)")
	flag.StringVar(&cfg.nodeName, "node-name", "podrunner", "name of the Node to register")
	flag.StringVar(&cfg.imageDir, "image-dir", os.Getenv("STEGO_PODRUNNER_IMAGE_DIR"),
		"directory of the executables that images name, e.g. build/bin for stego-worker (default $STEGO_PODRUNNER_IMAGE_DIR; then PATH)")
	flag.StringVar(&cfg.logDir, "log-dir", "", "directory for container logs: <namespace>_<pod>_<uid>/<container>.log (required)")
	flag.StringVar(&cfg.podDir, "pod-dir", "", "directory for the pods' working directories (default: a temporary directory, removed on exit)")
	flag.StringVar(&podCIDR, "pod-cidr", "10.244.0.0/24", "pod addresses are taken from here and added to lo")
	flag.StringVar(&nodeIP, "node-ip", "", "the node's address, added to lo (default: the first address of --pod-cidr)")
	flag.StringVar(&cfg.kubeletVersion, "kubelet-version", "v1.37.2", "version the node reports (match the control plane)")
	flag.DurationVar(&cfg.backoffInitial, "backoff-initial", 10*time.Second, "first crash-loop back-off (the kubelet's is 10s)")
	flag.DurationVar(&cfg.backoffMax, "backoff-max", 5*time.Minute, "longest crash-loop back-off (the kubelet's is 5m)")
	flag.DurationVar(&cfg.shutdownGrace, "shutdown-grace", 10*time.Second, "on exit, the longest a container gets between SIGTERM and SIGKILL")
	flag.StringVar(&clusterDNS, "cluster-dns", os.Getenv("STEGO_PODRUNNER_CLUSTER_DNS"),
		"serve the cluster domain's Service names over DNS on this IP[:port] (port 53 by default), as CoreDNS would; empty: off (default $STEGO_PODRUNNER_CLUSTER_DNS, which tests/k8s/netns.sh sets to 10.244.0.1:53)")
	flag.StringVar(&cfg.clusterDomain, "cluster-domain", "cluster.local", "the cluster DNS domain")
	flag.BoolVar(&cfg.allowHostNetns, "allow-host-netns", false, "add pod addresses to lo even in the host's network namespace (normally refused)")
	flag.Parse()
	if flag.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", flag.Args())
	}
	if cfg.kubeconfig == "" || cfg.logDir == "" {
		return cfg, fmt.Errorf("--kubeconfig (or $KUBECONFIG) and --log-dir are required")
	}
	var err error
	if cfg.podCIDR, err = netip.ParsePrefix(podCIDR); err != nil || !cfg.podCIDR.Addr().Is4() {
		return cfg, fmt.Errorf("--pod-cidr %q: need an IPv4 prefix", podCIDR)
	}
	cfg.podCIDR = cfg.podCIDR.Masked()
	cfg.nodeIP = cfg.podCIDR.Addr().Next()
	if nodeIP != "" {
		if cfg.nodeIP, err = netip.ParseAddr(nodeIP); err != nil {
			return cfg, fmt.Errorf("--node-ip: %v", err)
		}
	}
	if clusterDNS != "" {
		if cfg.clusterDNS, err = parseDNSAddr(clusterDNS); err != nil {
			return cfg, fmt.Errorf("--cluster-dns: %v", err)
		}
	}
	cfg.clusterDomain = strings.ToLower(strings.Trim(cfg.clusterDomain, "."))
	if _, err := dnsmessage.NewName(cfg.clusterDomain + "."); err != nil || cfg.clusterDomain == "" {
		return cfg, fmt.Errorf("--cluster-domain %q: not a domain name", cfg.clusterDomain)
	}
	return cfg, nil
}

// parseDNSAddr reads IP:port, or an IP alone for port 53.
func parseDNSAddr(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53), nil
	}
	return netip.ParseAddrPort(s)
}

func main() {
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	log.SetPrefix("podrunner: ")
	cfg, err := parseFlags()
	if err == nil {
		err = run(cfg)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func run(cfg config) error {
	if private, err := inPrivateNetns(); err != nil {
		return err
	} else if !private && !cfg.allowHostNetns {
		return fmt.Errorf("refusing to add pod addresses to the host's lo: run inside a private network namespace (tests/k8s/netns.sh), or pass --allow-host-netns")
	}
	if cfg.podDir == "" {
		dir, err := os.MkdirTemp("", "podrunner-pods-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.podDir = dir
	}
	for _, dir := range []string{cfg.logDir, cfg.podDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return err
	}
	restConfig.UserAgent = "podrunner/" + cfg.nodeName
	restConfig.QPS, restConfig.Burst = 50, 100
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	// Addresses in our CIDR on lo are left over from an earlier run in this
	// namespace; nothing of ours uses them any more.
	stale, err := loopbackIPsIn(cfg.podCIDR)
	if err != nil {
		return err
	}
	for _, a := range stale {
		if err := delLoopbackIP(a); err != nil {
			return err
		}
	}
	if err := addLoopbackIP(cfg.nodeIP); err != nil {
		return err
	}
	defer func() {
		if err := delLoopbackIP(cfg.nodeIP); err != nil {
			log.Print(err)
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if cfg.clusterDNS.IsValid() {
		dns, err := startClusterDNS(ctx, client, cfg.clusterDNS, cfg.clusterDomain)
		if err != nil {
			return fmt.Errorf("cluster DNS on %s: %w", cfg.clusterDNS, err)
		}
		defer dns.stop() // after the pods have stopped
	}
	r := newRunner(cfg, client)
	node, err := r.registerNode(ctx)
	if err != nil {
		return fmt.Errorf("registering node %s: %w", cfg.nodeName, err)
	}
	go r.heartbeat(ctx, node)
	err = r.run(ctx)
	log.Printf("stopped")
	return err
}
