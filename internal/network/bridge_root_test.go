package network

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
)

// testNetns makes a network namespace (testutil.NewNetns) and returns it
// with a path Attach can open.
func testNetns(t *testing.T) (netns.NsHandle, string) {
	t.Helper()
	ns := testutil.NewNetns(t)
	return ns, fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns))
}

// whoAmIServer listens on addr inside ns and answers every connection with
// the remote address it sees, then closes it. It returns the address it
// listens on (port 0 picks one).
func whoAmIServer(t *testing.T, ns netns.NsHandle, addr string) string {
	t.Helper()
	var ln net.Listener
	if err := testutil.InNetns(ns, func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatalf("listen %s in netns: %v", addr, err)
	}
	testutil.ServeWhoAmI(t, ln, "")
	return ln.Addr().String()
}

// whoAmI dials addr (from ns, or from the host when ns is -1) and returns
// the client address the server saw.
func whoAmI(t *testing.T, ns netns.NsHandle, addr string) (string, error) {
	t.Helper()
	var line string
	dial := func() error {
		c, err := net.DialTimeout("tcp4", addr, 700*time.Millisecond)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	}
	var err error
	if ns == -1 {
		err = dial()
	} else {
		err = testutil.InNetns(ns, dial)
	}
	return strings.TrimSpace(line), err
}

func wantSeen(t *testing.T, ns netns.NsHandle, addr, want string) {
	t.Helper()
	got, err := whoAmI(t, ns, addr)
	if err != nil || got != want {
		t.Errorf("dial %s: server saw %q, %v; want %s", addr, got, err, want)
	}
}

// testSubnets picks n /24s in 10.x that overlap no host route.
func testSubnets(t *testing.T, n int) []netip.Prefix {
	t.Helper()
	routes, err := HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for i := 0; len(out) < n && i < 256; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte((os.Getpid() + i) % 256), 0}), 24)
		if !overlapsAny(p, routes) {
			out = append(out, p)
		}
	}
	if len(out) < n {
		t.Fatal("no free 10.213.x.0/24 subnets")
	}
	return out
}

func linkGone(t *testing.T, name string) {
	t.Helper()
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("link %s still there (%v)", name, err)
	}
}

func addrPort(a netip.Addr, p uint16) string { return netip.AddrPortFrom(a, p).String() }

func mustAttach(t *testing.T, path string, br *Bridge, ip netip.Addr) *Endpoint {
	t.Helper()
	ep, err := Attach(path, br, ip, "eth0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Detach(ep) })
	return ep
}

func TestBridgeNetworking(t *testing.T) {
	testutil.RequiresRoot(t)
	subnets := testSubnets(t, 2)
	nameA, nameB := fmt.Sprintf("pta%d", os.Getpid()%10000), fmt.Sprintf("ptb%d", os.Getpid()%10000)
	// A pierd on this machine may hold rules in pier's table: the test
	// removes only its own, and the table only if that leaves it empty.
	hadTable := tableExists(t)
	t.Cleanup(func() {
		_ = RemoveBridgeRules(nameA)
		_ = RemoveBridgeRules(nameB)
		if err := DeleteTableIfEmpty(); err != nil {
			t.Error(err)
		}
	})
	brA, err := EnsureBridge(nameA, subnets[0], 1400)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(nameA) })
	if again, err := EnsureBridge(nameA, subnets[0], 1400); err != nil || *again != *brA {
		t.Fatalf("EnsureBridge again: %+v, %v; want %+v", again, err, brA)
	}
	brB, err := EnsureBridge(nameB, subnets[1], 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(nameB) })

	ns1, path1 := testNetns(t)
	ns2, path2 := testNetns(t)
	ns3, path3 := testNetns(t)
	ip1, ip2, ip3 := brA.Gateway.Next().Next(), brA.Gateway.Next().Next().Next(), brB.Gateway.Next()
	ep1 := mustAttach(t, path1, brA, ip1)
	ep2 := mustAttach(t, path2, brA, ip2)
	ep3 := mustAttach(t, path3, brB, ip3)

	t.Run("endpoint", func(t *testing.T) { checkEndpoint(t, ns1, ep1, brA) })
	whoAmIServer(t, ns1, addrPort(ip1, 8080))
	t.Run("same bridge", func(t *testing.T) { wantSeen(t, ns2, addrPort(ip1, 8080), ip2.String()) })

	if err := EnsureNAT(brA.Subnet, brA.Name); err != nil {
		t.Fatal(err)
	}
	if err := EnsureNAT(brA.Subnet, brA.Name); err != nil {
		t.Fatalf("EnsureNAT again: %v", err)
	}
	hostPort := testutil.FreeLoopbackPort(t)
	port := Port{Proto: "tcp", HostPort: hostPort, ContainerIP: ip1, ContainerPort: 8080}
	h, err := PublishPort(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("published port", func(t *testing.T) {
		// The host over loopback: masqueraded to the gateway (package doc).
		wantSeen(t, -1, addrPort(netip.MustParseAddr("127.0.0.1"), hostPort), brA.Gateway.String())
		wantSeen(t, -1, addrPort(brA.Gateway, hostPort), brA.Gateway.String())
		// A client routed in from another interface keeps its address.
		wantSeen(t, ns3, addrPort(brB.Gateway, hostPort), ip3.String())
		// A neighbour on the same bridge, and the container itself
		// (hairpin): with br_netfilter loaded the kernel bridges the DNATed
		// packet and keeps the source; without it, pier's hairpin rule
		// masquerades it to the gateway. Either way the connection works.
		for _, c := range []struct {
			ns netns.NsHandle
			ip netip.Addr
		}{{ns2, ip2}, {ns1, ip1}} {
			got, err := whoAmI(t, c.ns, addrPort(brA.Gateway, hostPort))
			if err != nil || (got != c.ip.String() && got != brA.Gateway.String()) {
				t.Errorf("hairpin from %s: server saw %q, %v", c.ip, got, err)
			}
		}

		dup := port
		dup.HostIP = netip.MustParseAddr("127.0.0.1")
		if _, err := PublishPort(dup); !errors.Is(err, errdefs.ErrAlreadyExists) {
			t.Errorf("publishing %d twice: %v, want ErrAlreadyExists", hostPort, err)
		}
		if hs, err := PublishedPorts(); err != nil || len(hs) != 1 || hs[0] != h {
			t.Errorf("PublishedPorts: %v, %v; want [%s]", hs, err, h)
		}
	})
	if err := Unpublish(h); err != nil {
		t.Fatal(err)
	}
	t.Run("unpublished", func(t *testing.T) {
		if got, err := whoAmI(t, -1, addrPort(netip.MustParseAddr("127.0.0.1"), hostPort)); err == nil {
			t.Errorf("port %d still reaches a server (saw %s) after Unpublish", hostPort, got)
		}
	})

	t.Run("no way in unpublished", func(t *testing.T) {
		// A's NAT rules let nothing into A that no published port DNATed.
		if got, err := whoAmI(t, ns3, addrPort(ip1, 8080)); err == nil {
			t.Errorf("another bridge reaches an unpublished port (server saw %s)", got)
		}
	})

	t.Run("isolation", func(t *testing.T) {
		// B has no NAT rules of its own, so A reaches into it, masqueraded
		// to B's gateway, until the two are isolated.
		whoAmIServer(t, ns3, addrPort(ip3, 8080))
		wantSeen(t, ns1, addrPort(ip3, 8080), brB.Gateway.String())
		if err := Isolate(brA.Name, brB.Name); err != nil {
			t.Fatal(err)
		}
		if got, err := whoAmI(t, ns1, addrPort(ip3, 8080)); err == nil {
			t.Errorf("isolated bridges still connect (server saw %s)", got)
		}
		if err := RemoveBridgeRules(brB.Name); err != nil {
			t.Fatal(err)
		}
		wantSeen(t, ns1, addrPort(ip3, 8080), brB.Gateway.String())
	})

	t.Run("teardown", func(t *testing.T) {
		for _, ep := range []*Endpoint{ep1, ep2, ep3} {
			if err := Detach(ep); err != nil {
				t.Error(err)
			}
			linkGone(t, ep.HostName)
			if err := Detach(ep); err != nil {
				t.Errorf("Detach twice: %v", err)
			}
		}
		for _, n := range []string{nameA, nameB} {
			if err := DeleteBridge(n); err != nil {
				t.Error(err)
			}
			linkGone(t, n)
		}
		for _, n := range []string{nameA, nameB} {
			if err := RemoveBridgeRules(n); err != nil {
				t.Error(err)
			}
		}
		if err := DeleteTableIfEmpty(); err != nil {
			t.Fatal(err)
		}
		if !hadTable && tableExists(t) {
			t.Error("table ip pier still there after its rules went")
		}
	})
}

func tableExists(t *testing.T) bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	return err == nil
}

// linkIn opens a netlink handle in ns, closed when the test ends, and
// finds the link name there.
func linkIn(t *testing.T, ns netns.NsHandle, name string) (*netlink.Handle, netlink.Link) {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("%s in the test's netns: %v", name, err)
	}
	return h, link
}

// defaultRouteVia reports whether routes hold a default route through gw.
func defaultRouteVia(routes []netlink.Route, gw netip.Addr) bool {
	return slices.ContainsFunc(routes, func(r netlink.Route) bool {
		return (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw.Equal(gw.AsSlice())
	})
}

func checkEndpoint(t *testing.T, ns netns.NsHandle, ep *Endpoint, br *Bridge) {
	h, link := linkIn(t, ns, "eth0")
	a := link.Attrs()
	if a.HardwareAddr.String() != MACFor(ep.IP).String() || a.MTU != br.MTU || a.Flags&net.FlagUp == 0 {
		t.Errorf("eth0: mac %s mtu %d flags %s; want %s, %d, up", a.HardwareAddr, a.MTU, a.Flags, MACFor(ep.IP), br.MTU)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != netip.PrefixFrom(ep.IP, br.Subnet.Bits()).String() {
		t.Errorf("eth0 addresses %v, %v; want %s/%d", addrs, err, ep.IP, br.Subnet.Bits())
	}
	routes, err := h.RouteList(link, netlink.FAMILY_V4)
	if err != nil || !defaultRouteVia(routes, br.Gateway) {
		t.Errorf("no default route via %s: %v, %v", br.Gateway, routes, err)
	}
	if lo, err := h.LinkByName("lo"); err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo not up: %v", err)
	}
	host, err := netlink.LinkByName(ep.HostName)
	if err != nil || len(ep.HostName) > 15 || !strings.HasPrefix(ep.HostName, "pier") {
		t.Fatalf("host side %q: %v", ep.HostName, err)
	}
	if bl, _ := netlink.LinkByName(br.Name); bl == nil || host.Attrs().MasterIndex != bl.Attrs().Index || host.Attrs().MTU != br.MTU {
		t.Errorf("host side %s: master %d mtu %d; want on %s, mtu %d", ep.HostName, host.Attrs().MasterIndex, host.Attrs().MTU, br.Name, br.MTU)
	}
}

// TestAttachFailureLeavesNothing fails after the veth exists (its bridge is
// missing) and checks the pair is gone.
func TestAttachFailureLeavesNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	_, path := testNetns(t)
	br := &Bridge{Name: "ptnone", Subnet: netip.MustParsePrefix("10.213.0.0/24"), Gateway: netip.MustParseAddr("10.213.0.1"), MTU: 1500}
	name := fmt.Sprintf("piert%d", os.Getpid()%100000)
	_, err := AttachConfig(EndpointConfig{NetnsPath: path, Bridge: br, IP: netip.MustParseAddr("10.213.0.2"), HostName: name})
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "ptnone") {
		t.Fatalf("attach to a missing bridge: %v; want an error naming %s and ptnone", err, name)
	}
	linkGone(t, name)
}
