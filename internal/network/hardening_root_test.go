package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
)

// hardenedBridge makes a bridge with pier's NAT and a container on it
// serving whoAmI on ports 8080 and 8081, and removes only its own rules at
// cleanup (a pierd on this machine may hold others in pier's table).
func hardenedBridge(t *testing.T, prefix string) (*Bridge, netns.NsHandle, netip.Addr) {
	t.Helper()
	sub := testSubnets(t, 1)[0]
	name := fmt.Sprintf("%s%d", prefix, os.Getpid()%10000)
	hadTable := tableExists(t)
	t.Cleanup(func() {
		if err := RemoveBridgeRules(name); err != nil {
			t.Error(err)
		}
		if err := DeleteTableIfEmpty(); err != nil {
			t.Error(err)
		}
		if !hadTable && tableExists(t) {
			t.Error("table ip pier still there after the test's rules went")
		}
	})
	br, err := EnsureBridge(name, sub, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(name) })
	if err := EnsureNAT(br.Subnet, br.Name); err != nil {
		t.Fatal(err)
	}
	ns, path := testNetns(t)
	ip := br.Gateway.Next()
	mustAttach(t, path, br, ip)
	whoAmIServer(t, ns, addrPort(ip, 8080))
	whoAmIServer(t, ns, addrPort(ip, 8081))
	return br, ns, ip
}

// loopbackServer listens on 127.0.0.1 in the host, as a host service that
// trusts loopback (a database, a Docker socket proxy, a kubelet) does.
func loopbackServer(t *testing.T) string {
	t.Helper()
	return whoAmIServer(t, hostNetns(t), "127.0.0.1:0")
}

func hostNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	h, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func mustPublish(t *testing.T, p Port) {
	t.Helper()
	h, err := PublishPort(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Unpublish(h); err != nil {
			t.Error(err)
		}
	})
}

func wantUnreachable(t *testing.T, from netns.NsHandle, addr, what string) {
	t.Helper()
	if got, err := whoAmI(t, from, addr); err == nil {
		t.Errorf("%s: %s reached (server saw %s)", what, addr, got)
	}
}

// TestNetworkContainerToHostLoopback is CVE-2020-8558: route_localnet=1 on the
// bridge lets a packet to 127.0.0.1 arriving from a container through its
// gateway be delivered, so the container reaches services bound to the
// host's loopback. The container here does with routes what CAP_NET_RAW
// (in the default set) does with crafted frames: it has no loopback of
// its own, sends 127.0.0.0/8 to its gateway and accepts answers from it.
func TestNetworkContainerToHostLoopback(t *testing.T) {
	testutil.RequiresRoot(t)
	br, ns, _ := hardenedBridge(t, "ptlo")
	target := loopbackServer(t)
	wantSeen(t, -1, target, "127.0.0.1") // the service works for the host

	h, lo := linkIn(t, ns, "lo")
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("container's eth0: %v", err)
	}
	// Its loopback address goes, and with it the local routes for
	// 127.0.0.0/8 that would keep the traffic inside.
	if err := h.AddrDel(lo, &netlink.Addr{IPNet: ipNet(loopbackNet, netip.MustParseAddr("127.0.0.1"))}); err != nil {
		t.Fatalf("container: remove 127.0.0.1 from lo: %v", err)
	}
	via := &netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: ipNet(loopbackNet, loopbackNet.Addr()), Gw: br.Gateway.AsSlice()}
	if err := h.RouteAdd(via); err != nil {
		t.Fatalf("route 127.0.0.0/8 via the gateway: %v", err)
	}
	err = testutil.InNetns(ns, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/eth0/route_localnet", []byte("1"), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantUnreachable(t, ns, target, "container to the host's 127.0.0.1 through its gateway")

	// UDP, one way, needs no answer at all.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	err = testutil.InNetns(ns, func() error {
		c, err := net.Dial("udp4", pc.LocalAddr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hello"))
		return err
	})
	if err != nil {
		t.Fatalf("send from the container: %v", err)
	}
	_ = pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, from, err := pc.ReadFrom(make([]byte, 16)); err == nil {
		t.Errorf("a datagram from the container (%s) reached the host's 127.0.0.1", from)
	}
}

// TestNetworkLANHost plays a host on the LAN (a namespace on a veth) that routes
// the host's loopback and the containers' subnet through the host, as any
// machine on the same link can.
func TestNetworkLANHost(t *testing.T) {
	testutil.RequiresRoot(t)
	br, ns, ip := hardenedBridge(t, "ptbl")
	lan := testutil.NewLAN(t)
	lan.Route(t, br.Subnet)
	lan.Route(t, loopbackNet)

	loPort, anyPort := testutil.FreeLoopbackPort(t), testutil.FreeLoopbackPort(t)
	mustPublish(t, Port{Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: loPort, ContainerIP: ip, ContainerPort: 8081})
	mustPublish(t, Port{Proto: "tcp", HostPort: anyPort, ContainerIP: ip, ContainerPort: 8081})
	target := loopbackServer(t)
	lo := netip.MustParseAddr("127.0.0.1")

	t.Run("still reachable", func(t *testing.T) {
		// A port published on every address is the LAN's to use.
		wantSeen(t, lan.NS, addrPort(lan.Host, anyPort), lan.Addr.String())
		// The host reaches its 127.0.0.1 port.
		wantSeen(t, -1, addrPort(lo, loPort), br.Gateway.String())
		// The container reaches the LAN, masqueraded, answers let back in.
		whoAmIServer(t, lan.NS, addrPort(lan.Addr, 9090))
		wantSeen(t, ns, addrPort(lan.Addr, 9090), lan.Host.String())
	})
	t.Run("moby#41872 port on 127.0.0.1", func(t *testing.T) {
		wantUnreachable(t, lan.NS, addrPort(lo, loPort), "LAN to a port published on 127.0.0.1")
		wantUnreachable(t, lan.NS, addrPort(lo, anyPort), "LAN to an any-address port through 127.0.0.1")
	})
	t.Run("host loopback service", func(t *testing.T) {
		wantUnreachable(t, lan.NS, target, "LAN to the host's 127.0.0.1")
	})
	t.Run("unpublished container port", func(t *testing.T) {
		wantUnreachable(t, lan.NS, addrPort(ip, 8080), "LAN to an unpublished container port")
		wantUnreachable(t, lan.NS, addrPort(ip, 8081), "LAN to a published port's container address")
	})
}

// TestNetworkForeignBridge: a bridge pier did not create is neither taken over
// (addresses, NAT) nor deleted.
func TestNetworkForeignBridge(t *testing.T) {
	testutil.RequiresRoot(t)
	name := fmt.Sprintf("ptfor%d", os.Getpid()%100000)
	testutil.ForeignBridge(t, name)
	if err := CheckBridgeName(name); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("CheckBridgeName(%s): %v, want ErrConflict", name, err)
	}
	if _, err := EnsureBridge(name, testSubnets(t, 1)[0], 0); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("EnsureBridge over %s: %v, want ErrConflict", name, err)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("foreign bridge got addresses %v", addrs)
	}
	if err := DeleteBridge(name); err != nil {
		t.Errorf("DeleteBridge of a foreign bridge: %v, want nil (left alone)", err)
	}
	if _, err := netlink.LinkByName(name); err != nil {
		t.Errorf("foreign bridge deleted: %v", err)
	}

	own := fmt.Sprintf("ptown%d", os.Getpid()%100000)
	if _, err := EnsureBridge(own, testSubnets(t, 1)[0], 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(own) })
	if err := CheckBridgeName(own); err != nil {
		t.Errorf("CheckBridgeName of pier's own bridge: %v", err)
	}
	if err := DeleteBridge(own); err != nil {
		t.Fatal(err)
	}
	linkGone(t, own)
}
