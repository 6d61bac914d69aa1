package testutil

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// LAN is a host on the machine's LAN, simulated: a network namespace the
// test made, joined to the host by a veth pair on a /30 of its own (host
// side .1, LAN side .2), so its traffic never leaves the machine. Like an
// attacker's machine it routes whatever it likes through the host (Route)
// and accepts answers from 127.0.0.0/8 (route_localnet on its interface).
// Everything goes at the test's cleanup.
type LAN struct {
	NS     netns.NsHandle
	HostIf string     // the host side of the veth
	Host   netip.Addr // the host side's address: the LAN host's next hop
	Addr   netip.Addr // the LAN host's own address
	link   int        // the LAN side's index inside NS
}

// NewLAN makes the namespace, the veth pair and the /30, picked in
// 10.214.0.0/16 clear of every host route.
func NewLAN(t *testing.T) *LAN {
	t.Helper()
	sub := freeSlash30(t)
	ns := NewNetns(t)
	l := &LAN{NS: ns, HostIf: fmt.Sprintf("ptlh%d", os.Getpid()%100000), Host: sub.Addr().Next(), Addr: sub.Addr().Next().Next()}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = l.HostIf
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns)}); err != nil {
		t.Fatalf("lan: veth %s: %v", l.HostIf, err)
	}
	t.Cleanup(func() {
		if host, err := netlink.LinkByName(l.HostIf); err == nil {
			_ = netlink.LinkDel(host)
		}
	})
	host, err := netlink.LinkByName(l.HostIf)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: ipNet(l.Host, 30)}); err != nil {
		t.Fatalf("lan: address %s on %s: %v", l.Host, l.HostIf, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	peer, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	l.link = peer.Attrs().Index
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: ipNet(l.Addr, 30)}); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	// lo stays down: the LAN host has no 127.0.0.0/8 of its own, so a
	// route for it can lead to the host.
	err = l.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/eth0/route_localnet", []byte("1"), 0)
	})
	if err != nil {
		t.Fatalf("lan: route_localnet: %v", err)
	}
	return l
}

// Route sends the LAN host's traffic for dst through the host.
func (l *LAN) Route(t *testing.T, dst netip.Prefix) {
	t.Helper()
	h, err := netlink.NewHandleAt(l.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r := &netlink.Route{LinkIndex: l.link, Dst: ipNet(dst.Masked().Addr(), dst.Bits()), Gw: l.Host.AsSlice()}
	if err := h.RouteAdd(r); err != nil {
		t.Fatalf("lan: route %s via %s: %v", dst, l.Host, err)
	}
}

// Do runs fn on an OS thread inside the LAN host's namespace; sockets fn
// opens stay there.
func (l *LAN) Do(fn func() error) error { return InNetns(l.NS, fn) }

// InNetns runs fn on an OS thread switched into ns.
func InNetns(ns netns.NsHandle, fn func() error) error {
	return onSwitchedThread(func() error { return netns.Set(ns) }, fn)
}

// NewNetns makes a network namespace held only by a descriptor: nothing is
// mounted, and closing it at cleanup destroys it with the veths inside.
func NewNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	err := onSwitchedThread(func() (err error) { ns, err = netns.New(); return err }, func() error { return nil })
	if err != nil {
		t.Fatalf("new netns: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// onSwitchedThread runs enter (which switches the thread's network
// namespace) and then fn on a locked OS thread, and switches it back.
func onSwitchedThread(enter, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- err
			return
		}
		defer orig.Close()
		if err := enter(); err != nil {
			done <- err
			return
		}
		err = fn()
		if serr := netns.Set(orig); serr == nil {
			runtime.UnlockOSThread()
		} // else the thread dies with the goroutine, still locked
		done <- err
	}()
	return <-done
}

// ServeWhoAmI answers every connection on ln with prefix, the client
// address it sees and a newline, then closes it; ln closes at cleanup.
func ServeWhoAmI(t *testing.T, ln net.Listener, prefix string) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s%s\n", prefix, c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
}

// FreeLoopbackPort returns a TCP port free on 127.0.0.1 a moment ago.
func FreeLoopbackPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// ForeignBridge makes a bridge named name that pier did not create, and
// deletes it at cleanup.
func ForeignBridge(t *testing.T, name string) {
	t.Helper()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		t.Fatalf("bridge %s: %v", name, err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(name); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
}

func freeSlash30(t *testing.T) netip.Prefix { return FreeSubnet(t, 214, 30) }

// FreeSubnet picks a subnet of the given length (24 to 30) in
// 10.<second>.0.0/16 that no host route overlaps.
func FreeSubnet(t *testing.T, second byte, bits int) netip.Prefix {
	t.Helper()
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	size := 1 << (32 - bits)
	for i := range (1 << 16) / size {
		n := (os.Getpid()*size + i*size) % (1 << 16)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, second, byte(n >> 8), byte(n)}), bits)
		clear := true
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			a, _ := netip.AddrFromSlice(r.Dst.IP.To4())
			ones, _ := r.Dst.Mask.Size()
			if ones > 0 && netip.PrefixFrom(a, ones).Overlaps(p) {
				clear = false
				break
			}
		}
		if clear {
			return p
		}
	}
	t.Fatalf("no free /%d in 10.%d.0.0/16", bits, second)
	return netip.Prefix{}
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, 32)}
}
