package network

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/pier-engine/pier/internal/errdefs"
)

// bridgeAlias marks the bridges pier created (the link's ifalias, shown by
// `ip link` as "alias pier-network"). Only a bridge carrying it is ever
// configured or deleted by pier: a network named after an operator's
// bridge (com.docker.network.bridge.name=br0) must neither take it over,
// adding addresses, NAT and routes to whatever it connects, nor delete it
// with `network rm`.
const bridgeAlias = "pier-network"

// ownedBridge reports whether link is a bridge pier created: it carries
// bridgeAlias, or, made by a pier that did not mark its bridges yet, it has
// no alias and a name in pier's own namespace ("pier0", "pier-<id>").
func ownedBridge(link netlink.Link) bool {
	a := link.Attrs()
	return link.Type() == "bridge" &&
		(a.Alias == bridgeAlias || (a.Alias == "" && strings.HasPrefix(a.Name, vethPrefix)))
}

// CheckBridgeName says whether a network may use the bridge name: it is a
// valid interface name and no link of that name exists other than a bridge
// pier created. A conflict is ErrConflict.
func CheckBridgeName(name string) error {
	if err := checkIfName(name); err != nil {
		return err
	}
	link, err := linkIfAny(name)
	if err != nil {
		return fmt.Errorf("bridge %s: look up: %w", name, err)
	}
	if link == nil {
		return nil
	}
	return checkOwned(link)
}

func checkOwned(link netlink.Link) error {
	name := link.Attrs().Name
	if link.Type() != "bridge" {
		return fmt.Errorf("bridge %s: a %s link has that name: %w", name, link.Type(), errdefs.ErrConflict)
	}
	if !ownedBridge(link) {
		return fmt.Errorf("bridge %s: exists and was not created by pier; a network cannot take it over: %w", name, errdefs.ErrConflict)
	}
	return nil
}

// linkIfAny looks up the link name; a missing link is nil, not an error.
func linkIfAny(name string) (netlink.Link, error) {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	return l, err
}
