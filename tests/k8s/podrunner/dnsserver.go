package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"net/netip"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
)

// clusterDNS serves the cluster domain over UDP and TCP on --cluster-dns,
// from informers on Services and EndpointSlices: the cluster DNS add-on
// (CoreDNS) of a real cluster, which the test control plane lacks. The
// answers are in dns.go.
type clusterDNS struct {
	udp     *net.UDPConn
	tcp     *net.TCPListener
	domain  string
	view    listerView
	factory informers.SharedInformerFactory
	cancel  context.CancelFunc
	serving sync.WaitGroup
}

type listerView struct {
	svcs   listersv1.ServiceLister
	slices discoverylisters.EndpointSliceLister
}

func (v listerView) services(namespace string) []*v1.Service {
	list, _ := v.svcs.Services(namespace).List(labels.Everything())
	return list
}

func (v listerView) endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice {
	list, _ := v.slices.EndpointSlices(namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service}))
	return list
}

// startClusterDNS binds addr, fills the caches (until ready, or ctx ends)
// and serves until stop.
func startClusterDNS(ctx context.Context, client kubernetes.Interface, addr netip.AddrPort, domain string) (*clusterDNS, error) {
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		udp.Close()
		return nil, err
	}
	d := &clusterDNS{udp: udp, tcp: tcp, domain: domain, factory: informers.NewSharedInformerFactory(client, 0)}
	d.view = listerView{d.factory.Core().V1().Services().Lister(), d.factory.Discovery().V1().EndpointSlices().Lister()}
	// The informers live until stop, which comes after the pods are stopped:
	// they may look names up while they shut down.
	var serveCtx context.Context
	serveCtx, d.cancel = context.WithCancel(context.Background())
	d.factory.Start(serveCtx.Done())
	d.factory.WaitForCacheSync(ctx.Done())
	d.serving.Add(2)
	go d.serveUDP()
	go d.serveTCP(serveCtx)
	log.Printf("cluster DNS: serving %s on %s (udp, tcp)", domain, addr)
	return d, nil
}

func (d *clusterDNS) stop() {
	d.cancel()
	d.udp.Close()
	d.tcp.Close()
	d.serving.Wait()
	d.factory.Shutdown()
}

func (d *clusterDNS) serveUDP() {
	defer d.serving.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := d.udp.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Printf("cluster DNS: %v", err)
			continue
		}
		if resp := dnsResponse(buf[:n], d.domain, d.view, 512); resp != nil {
			_, _ = d.udp.WriteToUDPAddrPort(resp, from)
		}
	}
}

func (d *clusterDNS) serveTCP(ctx context.Context) {
	defer d.serving.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		conn, err := d.tcp.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Printf("cluster DNS: %v", err)
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer context.AfterFunc(ctx, func() { conn.Close() })()
			defer conn.Close()
			d.serveConn(conn)
		}()
	}
}

// serveConn answers the length-prefixed messages of one TCP connection
// (RFC 1035 4.2.2) until the client closes it or is idle for 10 s.
func (d *clusterDNS) serveConn(conn net.Conn) {
	var size [2]byte
	for {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return
		}
		req := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(conn, req); err != nil {
			return
		}
		resp := dnsResponse(req, d.domain, d.view, 65535)
		if resp == nil {
			return
		}
		if _, err := conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}
