package dns

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestDNSLANHostGetsNoAnswer: a network's resolver listens on its gateway, an
// address a LAN host can route to through this host. It must not be an
// open resolver for the LAN (amplification, lookups of the containers'
// names): the LAN host's queries go unanswered over UDP and TCP, while a
// client inside the network's subnet is served.
func TestDNSLANHostGetsNoAnswer(t *testing.T) {
	testutil.RequiresRoot(t)
	// The network's bridge, holding the gateway of a /24.
	sub := testutil.FreeSubnet(t, 215, 24)
	gw := netip.PrefixFrom(sub.Addr().Next(), sub.Bits())
	attrs := netlink.NewLinkAttrs()
	attrs.Name = fmt.Sprintf("ptdns%d", os.Getpid()%100000)
	link := &netlink.Bridge{LinkAttrs: attrs}
	if err := netlink.LinkAdd(link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(link) })
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: gw.Addr().AsSlice(), Mask: net.CIDRMask(gw.Bits(), 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	s, err := listen(gw, 0, names, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := netip.AddrPortFrom(gw.Addr(), uint16(s.Port())).String()

	lan := testutil.NewLAN(t)
	lan.Route(t, sub)
	for _, proto := range []string{"udp", "tcp"} {
		// Inside: the host itself, from the gateway address.
		if !answered(t, dialFromTo(t, proto, gw.Addr(), at), 2*time.Second) {
			t.Errorf("%s: a client inside the subnet got no answer", proto)
		}
		var got bool
		err := lan.Do(func() error {
			c, err := net.DialTimeout(proto, at, time.Second)
			if err != nil {
				return nil // refused or dropped: no answer either way
			}
			defer c.Close()
			got = answered(t, c, 500*time.Millisecond)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got {
			t.Errorf("%s: the LAN host %s got an answer from %s", proto, lan.Addr, at)
		}
	}
}

// dialFromTo dials to from the local address from (any port).
func dialFromTo(t *testing.T, network string, from netip.Addr, to string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: time.Second}
	if network == "udp" {
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
	} else {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
	}
	c, err := d.Dial(network, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
