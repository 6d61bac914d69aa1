package network

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// An endpoint keeps the legacy Links and IPAMConfig.LinkLocalIPs the
// client gave, as dockerd does (docker-py reads them back from inspect).
func TestEndpointKeepsLinksAndLinkLocalIPs(t *testing.T) {
	user := netRecord{ID: "u", Name: "mynet", Subnet: netip.MustParsePrefix("10.99.0.0/24")}
	ll := []netip.Addr{netip.MustParseAddr("169.254.8.8")}
	ep, err := newEndpoint(user, &apinet.EndpointSettings{Links: []string{"upstream:bar"},
		IPAMConfig: &apinet.EndpointIPAMConfig{LinkLocalIPs: ll}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ep.Links, []string{"upstream:bar"}) || !slices.Equal(ep.LinkLocalIPs, ll) {
		t.Errorf("endpoint = %+v", ep)
	}
}

func TestNetworkNamesAsDockerd(t *testing.T) {
	for name, ok := range map[string]bool{"test 01": true, "a": true, "my_net.1": true, "": false, "   ": false, "bad\nname": false} {
		if validNetworkName(name) != ok {
			t.Errorf("validNetworkName(%q) = %v, want %v", name, !ok, ok)
		}
	}
}

func TestEndpointIPv6AddressRefused(t *testing.T) {
	user := netRecord{ID: "u", Name: "mynet", Subnet: netip.MustParsePrefix("10.99.0.0/24")}
	_, err := newEndpoint(user, &apinet.EndpointSettings{IPAMConfig: &apinet.EndpointIPAMConfig{IPv6Address: netip.MustParseAddr("2001:db8::5")}}, 0)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "IPv6Address") {
		t.Errorf("IPv6Address: %v, want a 400 naming the field", err)
	}
}

// A link alias on a user network answers the linked container's address.
func TestLinkAliasResolves(t *testing.T) {
	c, ctrs := newTestController(t)
	upID, downID := strings.Repeat("a", 64), strings.Repeat("b", 64)
	ctrs[upID] = Container{ID: upID, Name: "upstream"}
	ctrs[downID] = Container{ID: downID, Name: "down"}
	upIP := netip.MustParseAddr("10.99.0.5")
	down := &endpointRecord{NetworkID: "u", IP: netip.MustParseAddr("10.99.0.6"), Links: []string{"upstream:bar"}}
	c.setName("u", ctrs[downID], down)
	if got := c.lookupName("u", "bar"); len(got) != 0 {
		t.Errorf("bar before upstream runs = %v", got)
	}
	// The linked container may start after the linking one.
	c.setName("u", ctrs[upID], &endpointRecord{NetworkID: "u", IP: upIP})
	if got := c.lookupName("u", "bar"); len(got) != 1 || got[0] != upIP {
		t.Errorf("bar = %v, want %s", got, upIP)
	}
	c.dropName("u", downID)
	if got := c.lookupName("u", "bar"); len(got) != 0 {
		t.Errorf("bar after the linking container left = %v", got)
	}
}
