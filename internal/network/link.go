package network

import "github.com/vishvananda/netlink"

// LinkExists reports whether the host has a link named name (a bridge
// that is up, a veth that is still there).
func LinkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// LinkMTU returns the MTU of link name; ok is false when there is no such
// link.
func LinkMTU(name string) (mtu int, ok bool) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return 0, false
	}
	return l.Attrs().MTU, true
}
