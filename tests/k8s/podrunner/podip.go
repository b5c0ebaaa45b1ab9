package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Pod addresses. The API server refuses loopback (127.0.0.0/8) addresses in
// EndpointSlices, so each pod gets its own address from the pod CIDR, added
// as a /32 to the loopback interface of the private network namespace the
// test runs in (tests/k8s/netns.sh). Every pod then binds its own IP:port,
// like in a real pod network, and all of them reach each other through lo.
type ipPool struct {
	mu       sync.Mutex
	prefix   netip.Prefix
	reserved int
	used     map[netip.Addr]bool
}

func newIPPool(prefix netip.Prefix, reserved ...netip.Addr) *ipPool {
	p := &ipPool{prefix: prefix.Masked(), used: map[netip.Addr]bool{}}
	for _, a := range reserved {
		if p.prefix.Contains(a) {
			p.used[a] = true
			p.reserved++
		}
	}
	return p
}

// size is the number of pod addresses (without network, broadcast and
// reserved addresses), at most the kubelet's default of 110 pods.
func (p *ipPool) size() int {
	hostBits := p.prefix.Addr().BitLen() - p.prefix.Bits()
	if hostBits >= 8 {
		return 110
	}
	return max(min(1<<hostBits-2-p.reserved, 110), 0)
}

// allocate returns the lowest free host address of the pod CIDR (skipping the
// network address) and marks it used.
func (p *ipPool) allocate() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a := p.prefix.Addr().Next(); p.prefix.Contains(a); a = a.Next() {
		if !p.used[a] && p.prefix.Contains(a.Next()) { // the last address is the broadcast address
			p.used[a] = true
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod CIDR %s is exhausted", p.prefix)
}

func (p *ipPool) release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, a)
}

// addLoopbackIP adds a/32 to lo (iproute2's ip: no netlink library needed).
func addLoopbackIP(a netip.Addr) error {
	out, err := exec.Command("ip", "addr", "add", a.String()+"/32", "dev", "lo").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") {
		return fmt.Errorf("ip addr add %s/32 dev lo: %v: %s", a, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func delLoopbackIP(a netip.Addr) error {
	out, err := exec.Command("ip", "addr", "del", a.String()+"/32", "dev", "lo").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Cannot assign requested address") {
		return fmt.Errorf("ip addr del %s/32 dev lo: %v: %s", a, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// loopbackIPsIn lists the addresses on lo inside prefix: left over by a pod
// runner that died without cleaning up in the same namespace.
func loopbackIPsIn(prefix netip.Prefix) ([]netip.Addr, error) {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show", "dev", "lo").Output()
	if err != nil {
		return nil, fmt.Errorf("ip addr show dev lo: %w", err)
	}
	var found []netip.Addr
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		for i := 0; i+1 < len(fields); i++ {
			if fields[i] != "inet" {
				continue
			}
			if p, err := netip.ParsePrefix(fields[i+1]); err == nil && prefix.Contains(p.Addr()) {
				found = append(found, p.Addr())
			}
		}
	}
	return found, nil
}

// inPrivateNetns tells whether this process runs in a network namespace other
// than init's: adding pod addresses to the host's own lo would leak them to
// every other program on the machine.
func inPrivateNetns() (bool, error) {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return false, err
	}
	init, err := os.Readlink("/proc/1/ns/net")
	if err != nil {
		// Not allowed to look: we are not root in init's namespace, so we
		// could not change its lo anyway.
		return true, nil
	}
	return self != init, nil
}
