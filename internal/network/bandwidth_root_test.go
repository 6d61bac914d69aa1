package network

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/pier-engine/pier/internal/testutil"
)

// sinkRate listens in ns on addr, has from blast a TCP stream at it for
// about a second, and returns the rate the sink received in bit/s.
func sinkRate(t *testing.T, sink netns.NsHandle, addr string, from netns.NsHandle) float64 {
	t.Helper()
	var ln net.Listener
	if err := testutil.InNetns(sink, func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan float64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- 0
			return
		}
		defer c.Close()
		start := time.Now()
		n, _ := io.Copy(io.Discard, c)
		got <- float64(n*8) / time.Since(start).Seconds()
	}()
	buf := make([]byte, 64*1024)
	err := testutil.InNetns(from, func() error {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		for {
			if _, err := c.Write(buf); err != nil {
				return nil // the deadline ends the blast
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return <-got
}

func TestLimit(t *testing.T) {
	testutil.RequiresRoot(t)
	name := fmt.Sprintf("ptc%d", os.Getpid()%10000)
	br, err := EnsureBridge(name, testSubnets(t, 3)[2], 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(name) })
	ns1, path1 := testNetns(t)
	ns2, path2 := testNetns(t)
	ip1, ip2 := br.Gateway.Next(), br.Gateway.Next().Next()
	ep1 := mustAttach(t, path1, br, ip1)
	mustAttach(t, path2, br, ip2)

	const rate = 20_000_000
	if err := Limit(ep1.HostName, rate, rate); err != nil {
		t.Fatal(err)
	}
	link, _ := netlink.LinkByName(ep1.HostName)
	qs, _ := netlink.QdiscList(link)
	kinds := map[string]bool{}
	for _, q := range qs {
		kinds[q.Type()] = true
	}
	if _, err := netlink.LinkByName(IfbName(ep1.HostName)); err != nil || !kinds["tbf"] || !kinds["ingress"] {
		t.Fatalf("qdiscs on %s: %v; want tbf and ingress", ep1.HostName, kinds)
	}
	in := sinkRate(t, ns1, netip.AddrPortFrom(ip1, 9000).String(), ns2)
	out := sinkRate(t, ns2, netip.AddrPortFrom(ip2, 9001).String(), ns1)
	t.Logf("towards the container %.1f Mbit/s, from it %.1f Mbit/s (limit %d)", in/1e6, out/1e6, rate/1_000_000)
	for dir, r := range map[string]float64{"ingress": in, "egress": out} {
		if r < rate*0.7 || r > rate*1.3 {
			t.Errorf("%s: %.1f Mbit/s, want %d ±30%%", dir, r/1e6, rate/1_000_000)
		}
	}
	if err := Limit(ep1.HostName, 0, 0); err != nil {
		t.Fatal(err)
	}
	linkGone(t, IfbName(ep1.HostName))
	if free := sinkRate(t, ns1, netip.AddrPortFrom(ip1, 9002).String(), ns2); free < rate*3 {
		t.Errorf("after lifting the limit: %.1f Mbit/s", free/1e6)
	}
}
