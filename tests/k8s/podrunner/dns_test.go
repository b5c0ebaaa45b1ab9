package main

import (
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestParseClusterName(t *testing.T) {
	for _, c := range []struct {
		name     string
		inDomain bool
		want     clusterName
	}{
		{"cluster.local.", true, clusterName{svc: true}},
		{"svc.cluster.local.", true, clusterName{labels: 1, svc: true}},
		{"default.svc.cluster.local", true, clusterName{labels: 2, svc: true, namespace: "default"}},
		{"Stego.DEFAULT.svc.Cluster.Local.", true, clusterName{labels: 3, svc: true, namespace: "default", service: "stego"}},
		{"stego-0.stego.default.svc.cluster.local.", true, clusterName{labels: 4, svc: true, namespace: "default", service: "stego", endpoint: "stego-0"}},
		{"a.b.c.d.svc.cluster.local.", true, clusterName{labels: 5, svc: true, namespace: "d", service: "c", endpoint: "b"}},
		{"10-244-0-5.default.pod.cluster.local.", true, clusterName{labels: 3, namespace: "default", service: "10-244-0-5"}},
		{"example.com.", false, clusterName{}},
		{"notcluster.local.", false, clusterName{}},
		{"stego.default.svc.", false, clusterName{}},
	} {
		got, inDomain := parseClusterName(c.name, "Cluster.Local")
		if inDomain != c.inDomain || (inDomain && got != c.want) {
			t.Errorf("parseClusterName(%q) = %+v, %v; want %+v, %v", c.name, got, inDomain, c.want, c.inDomain)
		}
	}
}

// fixedView is a clusterView over fixed objects.
type fixedView struct {
	svcs   []*v1.Service
	slices []*discoveryv1.EndpointSlice
}

func (v fixedView) services(namespace string) []*v1.Service {
	var out []*v1.Service
	for _, s := range v.svcs {
		if s.Namespace == namespace {
			out = append(out, s)
		}
	}
	return out
}

func (v fixedView) endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, s := range v.slices {
		if s.Namespace == namespace && s.Labels[discoveryv1.LabelServiceName] == service {
			out = append(out, s)
		}
	}
	return out
}

// testCluster: headless "stego" (a StatefulSet's: endpoints with hostnames,
// stego-1 not ready, spread over two slices plus an IPv6 one), ClusterIP
// "web", headless "empty" with no ready endpoint, and an ExternalName.
func testCluster() fixedView {
	svc := func(name, clusterIP string) *v1.Service {
		return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: v1.ServiceSpec{ClusterIP: clusterIP}}
	}
	external := svc("ext", "")
	external.Spec.Type, external.Spec.ExternalName = v1.ServiceTypeExternalName, "example.com"
	web := svc("web", "10.96.0.10")
	web.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
	ep := func(ip, hostname string, ready *bool) discoveryv1.Endpoint {
		e := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
		if hostname != "" {
			e.Hostname = &hostname
		}
		return e
	}
	slice := func(service, name string, family discoveryv1.AddressType, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
			AddressType: family, Endpoints: eps,
		}
	}
	return fixedView{
		svcs: []*v1.Service{svc("stego", v1.ClusterIPNone), web, svc("empty", v1.ClusterIPNone), external},
		slices: []*discoveryv1.EndpointSlice{
			slice("stego", "stego-x", discoveryv1.AddressTypeIPv4, ep("10.244.0.4", "stego-2", ptr.To(true)), ep("10.244.0.3", "stego-1", ptr.To(false))),
			slice("stego", "stego-y", discoveryv1.AddressTypeIPv4, ep("10.244.0.2", "stego-0", nil), ep("10.244.0.4", "stego-2", ptr.To(true))),
			slice("stego", "stego-v6", discoveryv1.AddressTypeIPv6, ep("fd00::2", "stego-0", nil)),
			slice("web", "web-x", discoveryv1.AddressTypeIPv4, ep("10.244.0.7", "", ptr.To(true))),
			slice("empty", "empty-x", discoveryv1.AddressTypeIPv4, ep("10.244.0.9", "", ptr.To(false))),
		},
	}
}

func TestLookupA(t *testing.T) {
	view := testCluster()
	for _, c := range []struct {
		name   string
		addrs  []string
		exists bool
	}{
		{"stego.default.svc", []string{"10.244.0.2", "10.244.0.4"}, true}, // ready or unset, distinct, sorted, IPv4 only
		{"STEGO-0.Stego.default.svc", []string{"10.244.0.2"}, true},
		{"stego-1.stego.default.svc", nil, false}, // not ready
		{"stego-9.stego.default.svc", nil, false},
		{"web.default.svc", []string{"10.96.0.10"}, true},            // its clusterIP, not its endpoints
		{"10-244-0-7.web.default.svc", []string{"10.244.0.7"}, true}, // an endpoint without hostname, by address
		{"empty.default.svc", nil, false},                            // headless with no ready endpoint: NXDOMAIN, as CoreDNS
		{"ext.default.svc", nil, true},
		{"missing.default.svc", nil, false},
		{"stego.other.svc", nil, false},
		{"default.svc", nil, true},
		{"other.svc", nil, false},
		{"svc", nil, true},
		{"", nil, true},
		{"10-244-0-2.default.pod", nil, false},
		{"x.stego-0.stego.default.svc", nil, false},
	} {
		name := c.name + ".cluster.local."
		if c.name == "" {
			name = "cluster.local."
		}
		n, _ := parseClusterName(name, "cluster.local")
		addrs, exists := lookupA(n, view)
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		if !slices.Equal(got, c.addrs) || exists != c.exists {
			t.Errorf("%s: %v, exists %v; want %v, exists %v", name, got, exists, c.addrs, c.exists)
		}
	}
}

func query(t *testing.T, name string, qtype dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 4242, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestDNSResponse(t *testing.T) {
	view := testCluster()
	for _, c := range []struct {
		name          string
		qtype         dnsmessage.Type
		rcode         dnsmessage.RCode
		authoritative bool
		addrs         []string
		soa           bool
	}{
		{"Stego.Default.SVC.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, true, []string{"10.244.0.2", "10.244.0.4"}, false},
		// glibc asks AAAA alongside A: a name that exists has no data, not NXDOMAIN.
		{"stego.default.svc.cluster.local.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, true, nil, true},
		{"missing.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, true, nil, true},
		{"missing.default.svc.cluster.local.", dnsmessage.TypeAAAA, dnsmessage.RCodeNameError, true, nil, true},
		{"ext.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, true, nil, true},
		{"example.com.", dnsmessage.TypeA, dnsmessage.RCodeRefused, false, nil, false},
		{"stego.default.svc.", dnsmessage.TypeA, dnsmessage.RCodeRefused, false, nil, false},
	} {
		resp := dnsResponse(query(t, c.name, c.qtype), "cluster.local", view, 512)
		var p dnsmessage.Parser
		h, err := p.Start(resp)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		q, err := p.Question()
		if err != nil || q.Name.String() != c.name || q.Type != c.qtype {
			t.Errorf("%s: question %v %v", c.name, q, err)
		}
		_ = p.SkipAllQuestions()
		answers, err := p.AllAnswers()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range answers {
			ip := netip.AddrFrom4(a.Body.(*dnsmessage.AResource).A)
			got = append(got, ip.String())
			if a.Header.TTL != 5 || a.Header.Name != q.Name {
				t.Errorf("%s: answer %v; want TTL 5 for the name as asked", c.name, a.Header)
			}
		}
		authorities, err := p.AllAuthorities()
		if err != nil {
			t.Fatal(err)
		}
		soa := len(authorities) == 1 && authorities[0].Header.Type == dnsmessage.TypeSOA && authorities[0].Header.Name.String() == "cluster.local."
		if h.ID != 4242 || !h.Response || h.RCode != c.rcode || h.Authoritative != c.authoritative || !h.RecursionDesired ||
			h.Truncated || !slices.Equal(got, c.addrs) || soa != c.soa {
			t.Errorf("%s %v: %+v answers %v soa %v; want %v authoritative %v answers %v soa %v",
				c.name, c.qtype, h, got, soa, c.rcode, c.authoritative, c.addrs, c.soa)
		}
	}

	// Not a query: no answer.
	resp := dnsResponse(query(t, "stego.default.svc.cluster.local.", dnsmessage.TypeA), "cluster.local", view, 512)
	if dnsResponse(resp, "cluster.local", view, 512) != nil || dnsResponse([]byte{1, 2, 3}, "cluster.local", view, 512) != nil {
		t.Error("answered a response or garbage")
	}
	// Too long for the client's buffer: truncated, so that it asks over TCP.
	resp = dnsResponse(query(t, "stego.default.svc.cluster.local.", dnsmessage.TypeA), "cluster.local", view, 60)
	var p dnsmessage.Parser
	if h, err := p.Start(resp); err != nil || !h.Truncated || len(resp) > 60 {
		t.Errorf("over 60 bytes: %+v %v, %d bytes; want truncated", h, err, len(resp))
	}
}

func TestParseDNSAddr(t *testing.T) {
	for in, want := range map[string]string{"10.244.0.1:53": "10.244.0.1:53", "10.244.0.1": "10.244.0.1:53", "10.244.0.1:5353": "10.244.0.1:5353"} {
		if got, err := parseDNSAddr(in); err != nil || got.String() != want {
			t.Errorf("parseDNSAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := parseDNSAddr("localhost:53"); err == nil {
		t.Error("parseDNSAddr accepted a host name")
	}
}
