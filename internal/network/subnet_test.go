package network

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestDefaultSubnet(t *testing.T) {
	cases := []struct {
		name   string
		routes []string
		want   string
	}{
		{"empty host", nil, "172.17.0.0/16"},
		{"default route ignored", []string{"0.0.0.0/0", "192.0.2.0/24"}, "172.17.0.0/16"},
		{"docker0 present", []string{"172.17.0.0/16"}, "172.18.0.0/16"},
		{"narrow route inside a candidate", []string{"172.17.5.0/24", "172.18.0.1/32"}, "172.19.0.0/16"},
		{"wide route covering all 172.16/12", []string{"172.16.0.0/12"}, "10.200.0.0/16"},
		{"10/8 and 172.16/12 taken", []string{"172.16.0.0/12", "10.0.0.0/8"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DefaultSubnet(prefixes(t, c.routes...))
			if c.want == "" {
				if !errors.Is(err, errdefs.ErrConflict) {
					t.Fatalf("got %s, %v; want ErrConflict", got, err)
				}
				return
			}
			if err != nil || got != netip.MustParsePrefix(c.want) {
				t.Fatalf("got %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	p := netip.MustParsePrefix("10.1.2.0/24")
	if g := Gateway(p); g != netip.MustParseAddr("10.1.2.1") {
		t.Errorf("gateway %s", g)
	}
	if b := Broadcast(p); b != netip.MustParseAddr("10.1.2.255") {
		t.Errorf("broadcast %s", b)
	}
	if b := Broadcast(netip.MustParsePrefix("172.20.0.0/14")); b != netip.MustParseAddr("172.23.255.255") {
		t.Errorf("broadcast /14 %s", b)
	}
	if m := MACFor(netip.MustParseAddr("172.17.0.2")).String(); m != "02:42:ac:11:00:02" {
		t.Errorf("mac %s", m)
	}
}

func TestCheckSubnet(t *testing.T) {
	for _, s := range []string{"10.0.0.1/24", "10.0.0.0/31", "fd00::1/64", "fd00::/127", "::ffff:10.0.0.0/120"} {
		if err := checkSubnet(netip.MustParsePrefix(s)); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", s, err)
		}
	}
	for _, s := range []string{"10.0.0.0/30", "fd00::/64", "2001:db8::/126"} {
		if err := checkSubnet(netip.MustParsePrefix(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
