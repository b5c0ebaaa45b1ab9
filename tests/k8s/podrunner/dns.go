package main

import (
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Cluster DNS, the pure part: which names exist and what they answer, the
// way CoreDNS's kubernetes plugin answers them (Services and their
// EndpointSlices only: no pod records, no SRV, no PTR, no ExternalName
// CNAME, nothing forwarded). dnsserver.go serves it.

// clusterDNSTTL is CoreDNS's default TTL for the kubernetes plugin's records.
const clusterDNSTTL = 5

// clusterName is a query name inside the cluster domain, read right to left
// like the kubernetes plugin does: [endpoint.]service.namespace.svc.<domain>.
type clusterName struct {
	labels    int // labels before the domain: 0 the domain itself, 1 "svc", 2 a namespace, 3 a Service, 4 an endpoint
	namespace string
	service   string
	endpoint  string
	svc       bool // the label before the domain is "svc" (pod records are not served)
}

// parseClusterName splits a query name (any case, with or without the final
// dot) into its parts; inDomain is false for a name outside domain.
func parseClusterName(name, domain string) (n clusterName, inDomain bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.Trim(domain, "."))
	if name == domain {
		return clusterName{svc: true}, true
	}
	rest, ok := strings.CutSuffix(name, "."+domain)
	if !ok || rest == "" {
		return n, false
	}
	labels := strings.Split(rest, ".")
	n.labels = len(labels)
	n.svc = labels[len(labels)-1] == "svc"
	at := func(fromRight int) string {
		if i := len(labels) - 1 - fromRight; i >= 0 {
			return labels[i]
		}
		return ""
	}
	n.namespace, n.service, n.endpoint = at(1), at(2), at(3)
	return n, true
}

// clusterView is what the answers are made from: the informers' caches, or a
// fixed list in the unit tests.
type clusterView interface {
	services(namespace string) []*v1.Service
	// endpointSlices are the slices labelled kubernetes.io/service-name=service.
	endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
}

// lookupA returns the IPv4 addresses of a name in the cluster domain and
// whether the name exists at all (NXDOMAIN if not; NOERROR with no answer
// for another type, or when it has no address).
func lookupA(n clusterName, view clusterView) (addrs []netip.Addr, exists bool) {
	switch {
	case !n.svc || n.labels > 4:
		return nil, false
	case n.labels <= 1: // the domain and svc.<domain>
		return nil, true
	case n.labels == 2: // a namespace: exists while it has Services (CoreDNS: while it exists)
		return nil, len(view.services(n.namespace)) > 0
	}
	services := view.services(n.namespace)
	i := slices.IndexFunc(services, func(s *v1.Service) bool { return strings.EqualFold(s.Name, n.service) })
	if i < 0 {
		return nil, false
	}
	svc := services[i]
	switch {
	case svc.Spec.Type == v1.ServiceTypeExternalName:
		return nil, n.labels == 3 // CoreDNS answers a CNAME; not served here
	case n.labels == 4 || svc.Spec.ClusterIP == v1.ClusterIPNone:
		// An endpoint of any Service, or every ready endpoint of a headless
		// one; a name with no such endpoint does not exist.
		addrs = readyEndpointIPv4s(view.endpointSlices(n.namespace, svc.Name), n.endpoint)
		return addrs, len(addrs) > 0
	}
	for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return addrs, true
}

// readyEndpointIPv4s are the sorted, distinct IPv4 addresses of the slices'
// endpoints whose ready condition is true or unset (the EndpointSlice
// controller sets it true for a Service with publishNotReadyAddresses).
// With endpoint set, only those named so: by hostname, or else by the
// address with dashes (10-244-0-5), as CoreDNS names them.
func readyEndpointIPv4s(eps []*discoveryv1.EndpointSlice, endpoint string) []netip.Addr {
	var out []netip.Addr
	for _, slice := range eps {
		if slice.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, ip := range ep.Addresses {
				a, err := netip.ParseAddr(ip)
				if err != nil || !a.Is4() {
					continue
				}
				name := strings.ReplaceAll(ip, ".", "-")
				if ep.Hostname != nil && *ep.Hostname != "" {
					name = *ep.Hostname
				}
				if endpoint == "" || strings.EqualFold(name, endpoint) {
					out = append(out, a)
				}
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// dnsResponse answers one DNS message for the cluster domain; nil means
// drop it (not a query, or unreadable). An answer longer than maxSize (512
// over UDP) goes out truncated, so that the client asks again over TCP.
func dnsResponse(req []byte, domain string, view clusterView, maxSize int) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil || h.Response {
		return nil
	}
	q, qerr := p.Question()
	resp := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired}
	var addrs []netip.Addr
	switch {
	case qerr != nil:
		resp.RCode = dnsmessage.RCodeFormatError
	case h.OpCode != 0:
		resp.RCode = dnsmessage.RCodeNotImplemented
	default:
		n, inDomain := parseClusterName(q.Name.String(), domain)
		if !inDomain || q.Class != dnsmessage.ClassINET {
			resp.RCode = dnsmessage.RCodeRefused
			break
		}
		var exists bool
		addrs, exists = lookupA(n, view)
		resp.Authoritative = true
		if !exists {
			resp.RCode = dnsmessage.RCodeNameError
		}
		if q.Type != dnsmessage.TypeA {
			addrs = nil
		}
	}
	msg, err := buildDNSResponse(resp, q, qerr == nil, addrs, domain)
	if err == nil && len(msg) > maxSize {
		resp.Truncated = true
		msg, err = buildDNSResponse(resp, q, true, nil, domain)
	}
	if err != nil {
		return nil
	}
	return msg
}

// buildDNSResponse writes the message: the question, an A record per
// address, and for an authoritative answer without records the SOA that
// tells how long the client may cache that (RFC 2308).
func buildDNSResponse(h dnsmessage.Header, q dnsmessage.Question, withQuestion bool, addrs []netip.Addr, domain string) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if withQuestion {
		if err := b.Question(q); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: clusterDNSTTL}
		if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
			return nil, err
		}
	}
	if err := b.StartAuthorities(); err != nil {
		return nil, err
	}
	if h.Authoritative && len(addrs) == 0 && !h.Truncated {
		zone := strings.Trim(domain, ".") + "."
		soa := dnsmessage.SOAResource{
			NS: dnsmessage.MustNewName("ns.dns." + zone), MBox: dnsmessage.MustNewName("hostmaster." + zone),
			Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, MinTTL: clusterDNSTTL,
		}
		rh := dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(zone), Class: dnsmessage.ClassINET, TTL: clusterDNSTTL}
		if err := b.SOAResource(rh, soa); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
