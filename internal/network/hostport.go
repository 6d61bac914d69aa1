package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// checkHostIP refuses a host address that is not this host's. A DNAT rule
// for a foreign address would never serve the user and would hijack
// traffic: with -p 8.8.8.8:53:53 every container's, and the host's own,
// queries to 8.8.8.8 would land in the publishing container. The kernel's
// route lookup decides (a local route, as for 127.0.0.0/8 or an AnyIP
// range, counts); nothing is sent.
func checkHostIP(ip netip.Addr) error {
	if !ip.IsValid() || ip.IsUnspecified() {
		return nil
	}
	routes, err := netlink.RouteGet(ip.AsSlice())
	if err == nil && len(routes) > 0 && routes[0].Type == unix.RTN_LOCAL {
		return nil
	}
	reason := "no local route"
	if err != nil {
		reason = err.Error()
	}
	return fmt.Errorf("publish on %s: not a local address of this host (%s): %w", ip, reason, errdefs.ErrInvalidArgument)
}

// checkPortFree tries to bind the host port the way a host service would,
// and lets it go: a port some process listens on is a conflict, since the
// DNAT would silently steal its traffic from everyone but the host itself.
// Only EADDRINUSE counts; another failure to bind is not pier's to judge.
func checkPortFree(proto string, ip netip.Addr, port uint16) error {
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	addr := netip.AddrPortFrom(ip, port).String()
	family := "4"
	if ip.Is6() {
		family = "6"
	}
	var err error
	if proto == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp"+family, addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp"+family, addr); err == nil {
			l.Close()
		}
	}
	if errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("publish %s/%s: host port already in use: %w", addr, proto, errdefs.ErrConflict)
	}
	return nil
}
