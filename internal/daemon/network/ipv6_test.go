package network

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestNetworkIPv6: an IPv6 pool makes a dual-stack network (with
// EnableIPv6 true, or left out as docker-py leaves it), shown in inspect as
// dockerd shows it; EnableIPv6 alone picks a ULA /64; a pool with
// EnableIPv6 false, and an IPv6 address on a network without IPv6, are
// refused.
func TestNetworkIPv6(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	yes, no := true, false
	pool := apinet.IPAMConfig{Subnet: netip.MustParsePrefix("2001:db8:389::1/64"), IPRange: netip.MustParsePrefix("2001:db8:389::/96"),
		Gateway: netip.MustParseAddr("2001:db8:389::ffff")}
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "six", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{pool}}}); err != nil {
		t.Fatal(err)
	}
	n, err := d.NetworkInspect(ctx, "six")
	if err != nil || !n.EnableIPv6 || len(n.IPAM.Config) != 2 {
		t.Fatalf("inspect = %+v, %v", n, err)
	}
	if c := n.IPAM.Config[1]; c.Subnet != netip.MustParsePrefix("2001:db8:389::/64") || c.Gateway != pool.Gateway || c.IPRange != pool.IPRange {
		t.Errorf("IPv6 config = %+v", c)
	}
	if !n.IPAM.Config[0].Subnet.Addr().Is4() {
		t.Errorf("no IPv4 subnet picked: %+v", n.IPAM.Config)
	}

	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "auto6", EnableIPv6: &yes}); err != nil {
		t.Fatal(err)
	}
	a, err := d.NetworkInspect(ctx, "auto6")
	if err != nil || !a.EnableIPv6 || len(a.IPAM.Config) != 2 {
		t.Fatalf("auto6 = %+v, %v", a, err)
	}
	if s := a.IPAM.Config[1].Subnet; s.Bits() != 64 || s.Addr().As16()[0] != 0xfd {
		t.Errorf("picked %s, want a ULA /64", s)
	}

	overlap := apinet.IPAMConfig{Subnet: netip.MustParsePrefix("2001:db8:389::/48")}
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "over", IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{overlap}}}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("overlapping IPv6 subnets: %v", err)
	}
	if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: "off", EnableIPv6: &no, IPAM: &apinet.IPAM{Config: []apinet.IPAMConfig{{Subnet: netip.MustParsePrefix("2001:db8:1::/64")}}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("an IPv6 pool with EnableIPv6 false: %v", err)
	}

	rec, err := d.findNetwork("six")
	if err != nil {
		t.Fatal(err)
	}
	es := func(ip string) *apinet.EndpointSettings {
		return &apinet.EndpointSettings{IPAMConfig: &apinet.EndpointIPAMConfig{IPv6Address: netip.MustParseAddr(ip)}}
	}
	ep, err := newEndpoint(rec, es("2001:db8:389::f00d"), 0)
	if err != nil || ep.RequestedIP6 != netip.MustParseAddr("2001:db8:389::f00d") {
		t.Errorf("--ip6 in the subnet: %+v, %v", ep, err)
	}
	for _, ip := range []string{"2001:db8:390::5", "2001:db8:389::ffff"} {
		if _, err := newEndpoint(rec, es(ip), 0); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("--ip6 %s: %v", ip, err)
		}
	}
	v4, err := d.findNetwork("bridge")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newEndpoint(v4, es("2001:db8:389::5"), 0); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("--ip6 on the default bridge: %v", err)
	}
}

// TestNetworkPruneFilters: prune takes dockerd's label, label! and until
// filters; any other key is refused.
func TestNetworkPruneFilters(t *testing.T) {
	d, _ := newTestController(t)
	ctx := context.Background()
	for name, labels := range map[string]map[string]string{"keep": {"keep": "1"}, "drop": {"tier": "x"}, "plain": nil} {
		if _, err := d.NetworkCreate(ctx, apinet.CreateRequest{Name: name, Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := d.NetworkPrune(ctx, map[string][]string{"until": {"1h"}})
	if err != nil || len(r.NetworksDeleted) != 0 {
		t.Errorf("until 1h ago pruned %v, %v; want none (all are newer)", r.NetworksDeleted, err)
	}
	r, err = d.NetworkPrune(ctx, map[string][]string{"label": {"tier=x"}})
	if err != nil || len(r.NetworksDeleted) != 1 || r.NetworksDeleted[0] != "drop" {
		t.Errorf("label tier=x pruned %v, %v", r.NetworksDeleted, err)
	}
	r, err = d.NetworkPrune(ctx, map[string][]string{"label!": {"keep"}, "until": {"-1h"}})
	if err != nil || len(r.NetworksDeleted) != 1 || r.NetworksDeleted[0] != "plain" {
		t.Errorf("label!=keep pruned %v, %v", r.NetworksDeleted, err)
	}
	for _, f := range []map[string][]string{{"until": {"someday"}}, {"dangling": {"true"}}} {
		if _, err := d.NetworkPrune(ctx, f); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("prune %v: %v", f, err)
		}
	}
}

// TestPortPlanIPv6: dockerd's reading of a binding's host address on a
// dual-stack container: none is both families, 0.0.0.0 IPv4 only, :: IPv6
// only, and :: of a container without IPv6 is skipped.
func TestPortPlanIPv6(t *testing.T) {
	ip, ip6 := netip.MustParseAddr("10.1.0.5"), netip.MustParseAddr("fd42::5")
	bind := func(host string) *container.HostConfig {
		b := apinet.PortBinding{HostPort: "8080"}
		if host != "" {
			b.HostIP = netip.MustParseAddr(host)
		}
		return &container.HostConfig{PortBindings: apinet.PortMap{apinet.MustParsePort("80/tcp"): {b}}}
	}
	for host, want := range map[string][2]bool{"": {true, true}, "0.0.0.0": {true, false}, "::": {false, true}, "fd42::1": {false, true}} {
		ports, err := portPlan(bind(host), nil, ip, ip6)
		if err != nil || len(ports) != 1 || ports[0].ContainerIP.IsValid() != want[0] || ports[0].ContainerIP6.IsValid() != want[1] {
			t.Errorf("host %q: %+v, %v; want IPv4 %v, IPv6 %v", host, ports, err, want[0], want[1])
		}
	}
	if ports, err := portPlan(bind("::"), nil, ip, netip.Addr{}); err != nil || len(ports) != 0 {
		t.Errorf(":: of a container without IPv6: %+v, %v", ports, err)
	}
}
