package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// IPv6 on a network is dual stack: the bridge keeps its IPv4 subnet and
// also holds an IPv6 gateway address; each container's interface gets an
// address of the IPv6 subnet too, and a default route through it. Addresses
// are added without duplicate address detection (the IPAM already makes
// them unique), so they work at once rather than after DAD's second.

// HostRoutes6 lists the IPv6 destinations of the host's routes in every
// table, link-local and multicast ones left out, for DefaultSubnet6.
func HostRoutes6() ([]netip.Prefix, error) {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list IPv6 routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		a, ok := netip.AddrFromSlice(r.Dst.IP.To16())
		ones, _ := r.Dst.Mask.Size()
		if !ok || a.IsLinkLocalUnicast() || a.IsMulticast() || a.Is4In6() {
			continue
		}
		out = append(out, netip.PrefixFrom(a, ones).Masked())
	}
	return out, nil
}

// DefaultSubnet6 picks a unique local /64 (RFC 4193: fd00::/8 and a random
// 40-bit global id) overlapping none of hostRoutes nor taken, for an
// IPv6 network created without a subnet, as dockerd 27+ picks from its
// default ULA pool.
func DefaultSubnet6(hostRoutes, taken []netip.Prefix) (netip.Prefix, error) {
	for range 64 {
		var a [16]byte
		a[0] = 0xfd
		_, _ = rand.Read(a[1:6]) // never fails on Linux
		p := netip.PrefixFrom(netip.AddrFrom16(a), 64)
		if !overlapsAny(p, hostRoutes) && !overlapsAny(p, taken) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("default IPv6 subnet: every pick overlaps a route or a network: %w", errdefs.ErrConflict)
}

// EnsureBridge6 gives pier's bridge name the IPv6 gateway address of
// subnet (idempotent) and IPv6 itself, should the host's default have it
// off. Another global IPv6 address on it is a conflict, as for IPv4.
func EnsureBridge6(br *Bridge, subnet netip.Prefix, gateway netip.Addr) error {
	if err := checkSubnet(subnet); err != nil {
		return err
	}
	if !subnet.Addr().Is6() {
		return fmt.Errorf("bridge %s: subnet %s: not IPv6: %w", br.Name, subnet, errdefs.ErrInvalidArgument)
	}
	if err := CheckGateway(subnet, gateway); err != nil {
		return err
	}
	link, err := netlink.LinkByName(br.Name)
	if err != nil {
		return fmt.Errorf("bridge %s: look up: %w", br.Name, err)
	}
	if err := checkOwned(link); err != nil {
		return err
	}
	if err := setSysctl("/proc/sys/net/ipv6/conf/"+br.Name+"/disable_ipv6", "0"); err != nil {
		return fmt.Errorf("bridge %s: %w", br.Name, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("bridge %s: list IPv6 addresses: %w", br.Name, err)
	}
	has := false
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP)
		ones, _ := a.Mask.Size()
		switch {
		case ip.IsLinkLocalUnicast():
		case ip == gateway && ones == subnet.Bits():
			has = true
		default:
			return fmt.Errorf("bridge %s: holds %s, want %s/%d: %w", br.Name, a.IPNet, gateway, subnet.Bits(), errdefs.ErrConflict)
		}
	}
	if !has {
		addr := &netlink.Addr{IPNet: ipNet(subnet, gateway), Flags: unix.IFA_F_NODAD}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("bridge %s: add address %s: %w", br.Name, addr.IPNet, err)
		}
	}
	br.Subnet6, br.Gateway6 = subnet, gateway
	return nil
}

// configurePeer6 gives the container's interface its IPv6 address and,
// unless told not to, the default route through the gateway; h is a
// netlink handle in the namespace.
func configurePeer6(h *netlink.Handle, ns netns.NsHandle, link netlink.Link, c EndpointConfig) error {
	br := c.Bridge
	if !br.Subnet6.Contains(c.IP6) || c.IP6 == br.Gateway6 {
		return fmt.Errorf("address %s: not a container address of %s: %w", c.IP6, br.Subnet6, errdefs.ErrInvalidArgument)
	}
	if err := enableIPv6(ns, c.IfName); err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: ipNet(br.Subnet6, c.IP6), Flags: unix.IFA_F_NODAD}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add address %s: %w", addr.IPNet, err)
	}
	if c.NoDefaultRoute {
		return nil
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: br.Gateway6.AsSlice()}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("add default route via %s: %w", br.Gateway6, err)
	}
	return nil
}

// enableIPv6 turns IPv6 on for ifname in ns (net.ipv6.conf.<if>.disable_ipv6
// = 0; a host whose namespaces inherit its own settings may have it off).
// /proc/sys/net is the calling thread's namespace's, so a locked thread
// enters ns for the write and comes back; a thread that cannot come back
// stays locked and ends with its goroutine.
func enableIPv6(ns netns.NsHandle, ifname string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		back, err := inNetns(ns, func() error {
			for _, f := range []string{"all", ifname} {
				err := os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("0"), 0)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("enable IPv6 on %s: %w", f, err)
				}
			}
			return nil
		})
		if back {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// inNetns runs f on the calling (locked) thread inside ns, then returns
// the thread to its own namespace; back says whether that worked.
func inNetns(ns netns.NsHandle, f func() error) (back bool, err error) {
	orig, err := netns.Get()
	if err != nil {
		return true, fmt.Errorf("netns: current: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return true, fmt.Errorf("netns: enter: %w", err)
	}
	err = f()
	if serr := netns.Set(orig); serr != nil {
		return false, errors.Join(err, fmt.Errorf("netns: back to the daemon's: %w", serr))
	}
	return true, err
}
