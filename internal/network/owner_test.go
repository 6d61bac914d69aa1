package network

import (
	"testing"

	"github.com/vishvananda/netlink"
)

func TestOwnedBridge(t *testing.T) {
	link := func(kind, name, alias string) netlink.Link {
		a := netlink.LinkAttrs{Name: name, Alias: alias}
		if kind == "bridge" {
			return &netlink.Bridge{LinkAttrs: a}
		}
		return &netlink.Veth{LinkAttrs: a}
	}
	for _, c := range []struct {
		l    netlink.Link
		want bool
	}{
		{link("bridge", "br0", bridgeAlias), true},
		{link("bridge", "br0", ""), false},                // an operator's
		{link("bridge", "br0", "uplink"), false},          // an operator's, named
		{link("bridge", "pier-0123456789", ""), true},     // made before marking
		{link("bridge", "pier0", "someone's"), false},     // re-aliased: not ours any more
		{link("veth", "pier1234567", bridgeAlias), false}, // not a bridge at all
	} {
		if got := ownedBridge(c.l); got != c.want {
			a := c.l.Attrs()
			t.Errorf("%s %q alias %q: owned %v, want %v", c.l.Type(), a.Name, a.Alias, got, c.want)
		}
	}
}
