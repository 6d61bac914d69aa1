package network

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/pier-engine/pier/internal/testutil"
)

// ip6Tags lists the tags of the rules in pier's ip6 table; nil when the
// table does not exist.
func ip6Tags(t *testing.T) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv6)
	if err != nil {
		return nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv6)
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{}
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		rules, err := c.GetRules(tb, ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			tags = append(tags, s)
		}
	}
	return tags
}

// whoAmI6 is whoAmI over any address family: the client address the
// server at addr saw, dialled from ns. The first packet may wait a
// neighbour solicitation's retransmit (1 s), so the wait is longer than
// whoAmI's.
func whoAmI6(ns netns.NsHandle, addr string, wait time.Duration) (string, error) {
	var line string
	err := testutil.InNetns(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, wait)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(line), err
}

func TestIPv6Bridge(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Fatalf("the kernel has no IPv6: %v", err)
	}
	subnets := testSubnets(t, 2)
	routes6, err := HostRoutes6()
	if err != nil {
		t.Fatal(err)
	}
	sub6A, err := DefaultSubnet6(routes6, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub6B, err := DefaultSubnet6(routes6, []netip.Prefix{sub6A})
	if err != nil {
		t.Fatal(err)
	}
	nameA, nameB := fmt.Sprintf("p6a%d", os.Getpid()%10000), fmt.Sprintf("p6b%d", os.Getpid()%10000)
	t.Cleanup(func() {
		_ = RemoveBridgeRules(nameA)
		_ = RemoveBridgeRules(nameB)
		if err := DeleteTableIfEmpty(); err != nil {
			t.Error(err)
		}
		for _, tag := range ip6Tags(t) {
			if strings.Contains(tag, nameA) || strings.Contains(tag, nameB) {
				t.Errorf("rule %q left in the ip6 table", tag)
			}
		}
	})
	brA, err := EnsureBridge(nameA, subnets[0], 1400)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(nameA) })
	brB, err := EnsureBridge(nameB, subnets[1], 1400)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = DeleteBridge(nameB) })
	b := sub6A.Addr().As16()
	b[14], b[15] = 0xff, 0xff
	gwA := netip.AddrFrom16(b) // not the first address: --gateway
	for range 2 {              // idempotent
		if err := EnsureBridge6(brA, sub6A, gwA); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnsureBridge6(brB, sub6B, Gateway(sub6B)); err != nil {
		t.Fatal(err)
	}
	if err := EnsureBridge6(brA, sub6B, Gateway(sub6B)); err == nil {
		t.Error("a second IPv6 subnet on a bridge: no conflict")
	}
	for _, err := range []error{EnsureNAT6(sub6A, nameA), EnsureNAT6(sub6B, nameB), Isolate6(nameA, nameB)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tags := ip6Tags(t)
	for _, want := range []string{natTag(nameA), natTag(nameB), isolateTag(nameA, nameB)} {
		if !slices.Contains(tags, want) {
			t.Errorf("ip6 table: no rule %q in %q", want, tags)
		}
	}

	ns1, path1 := testNetns(t)
	ns2, path2 := testNetns(t)
	ns3, path3 := testNetns(t)
	ip61, ip62, ip63 := Gateway(sub6A), Gateway(sub6A).Next(), Gateway(sub6B).Next()
	attach := func(path string, br *Bridge, ip, ip6 netip.Addr) {
		ep, err := AttachConfig(EndpointConfig{NetnsPath: path, Bridge: br, IP: ip, IP6: ip6})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = Detach(ep) })
	}
	attach(path1, brA, brA.Gateway.Next(), ip61)
	attach(path2, brA, brA.Gateway.Next().Next(), ip62)
	attach(path3, brB, brB.Gateway.Next(), ip63)

	t.Run("addresses and route", func(t *testing.T) {
		h, link := linkIn(t, ns1, "eth0")
		addrs, _ := h.AddrList(link, netlink.FAMILY_V6)
		if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IP.Equal(ip61.AsSlice()) }) {
			t.Errorf("eth0 lacks %s: %v", ip61, addrs)
		}
		routes, _ := h.RouteList(link, netlink.FAMILY_V6)
		if !defaultRouteVia(routes, gwA) {
			t.Errorf("no default route via %s: %v", gwA, routes)
		}
	})

	var ln net.Listener
	if err := testutil.InNetns(ns1, func() (err error) { ln, err = net.Listen("tcp6", netip.AddrPortFrom(ip61, 8080).String()); return err }); err != nil {
		t.Fatal(err)
	}
	testutil.ServeWhoAmI(t, ln, "")
	target := netip.AddrPortFrom(ip61, 8080).String()
	t.Run("same network", func(t *testing.T) {
		if got, err := whoAmI6(ns2, target, 3*time.Second); err != nil || got != ip62.String() {
			t.Errorf("dial %s from %s: server saw %q, %v", target, ip62, got, err)
		}
	})
	t.Run("isolated networks", func(t *testing.T) {
		if got, err := whoAmI6(ns3, target, 700*time.Millisecond); err == nil {
			t.Errorf("dial %s from another network: reached (server saw %q)", target, got)
		}
	})
}
