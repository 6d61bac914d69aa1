package network

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestIPv6Subnet(t *testing.T) {
	p := netip.MustParsePrefix("fd42:1::/64")
	if g := Gateway(p); g != netip.MustParseAddr("fd42:1::1") {
		t.Errorf("gateway %s", g)
	}
	if b := Broadcast(p); b.IsValid() {
		t.Errorf("broadcast of an IPv6 subnet: %s", b)
	}
	if err := CheckGateway(p, netip.MustParseAddr("fd42:1::ffff")); err != nil {
		t.Errorf("gateway ::ffff: %v", err)
	}
	if err := CheckGateway(p, netip.MustParseAddr("fd42:2::1")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("gateway outside: %v", err)
	}
	if n := ipNet(p, netip.MustParseAddr("fd42:1::5")).String(); n != "fd42:1::5/64" {
		t.Errorf("ipNet %s", n)
	}
}

func TestDefaultSubnet6(t *testing.T) {
	routes := []netip.Prefix{netip.MustParsePrefix("fd00::/64"), netip.MustParsePrefix("::/0")}
	seen := map[netip.Prefix]bool{}
	for range 20 {
		p, err := DefaultSubnet6(routes, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Bits() != 64 || p.Addr().As16()[0] != 0xfd || p.Masked() != p || p.Overlaps(routes[0]) {
			t.Fatalf("picked %s", p)
		}
		seen[p] = true
	}
	if len(seen) < 15 {
		t.Errorf("%d distinct picks of 20: not random", len(seen))
	}
	// Every ULA taken: no pick.
	if p, err := DefaultSubnet6(nil, []netip.Prefix{netip.MustParsePrefix("fd00::/8")}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("all taken: %s, %v", p, err)
	}
}

func TestIPAMv6Range(t *testing.T) {
	// docker-py's pool: a /64 with a /96 range and the gateway at ::ffff;
	// the range's first address is handed out (it is not the subnet's).
	p := Pool{Subnet: netip.MustParsePrefix("2001:db8::/64"), Gateway: netip.MustParseAddr("2001:db8::ffff"),
		Range: netip.MustParsePrefix("2001:db8::1:0:0/96")}
	m, err := OpenIPAMPool(t.TempDir(), "n6", p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Allocate("c1")
	if err != nil || a != netip.MustParseAddr("2001:db8::1:0:0") {
		t.Fatalf("first: %s, %v", a, err)
	}
	b, err := m.Allocate("c2")
	if err != nil || b != netip.MustParseAddr("2001:db8::1:0:1") {
		t.Fatalf("second: %s, %v", b, err)
	}
	if err := m.AllocateAddr(netip.MustParseAddr("2001:db8::ffff"), "c3"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("the gateway handed out: %v", err)
	}
	if err := m.AllocateAddr(netip.MustParseAddr("2001:db8::f00d"), "c3"); err != nil {
		t.Errorf("a chosen address outside the range: %v", err)
	}
	if err := m.AllocateAddr(netip.MustParseAddr("2001:db8::f00d"), "c4"); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("an address twice: %v", err)
	}
}
