package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// DefaultName is the name of the default network and of its bridge.
const DefaultName = "pier0"

// checkSubnet accepts an IPv4 or IPv6 subnet, in canonical form, with
// room for a gateway and at least one container besides the network (and,
// in IPv4, broadcast) addresses.
func checkSubnet(subnet netip.Prefix) error {
	if !subnet.IsValid() || subnet.Addr().Is4In6() || subnet.Addr().Zone() != "" {
		return fmt.Errorf("subnet %s: not an IPv4 or IPv6 prefix: %w", subnet, errdefs.ErrInvalidArgument)
	}
	if max := subnet.Addr().BitLen() - 2; subnet.Bits() > max {
		return fmt.Errorf("subnet %s: smaller than a /%d: %w", subnet, max, errdefs.ErrInvalidArgument)
	}
	if subnet.Masked() != subnet {
		return fmt.Errorf("subnet %s: host bits set (want %s): %w", subnet, subnet.Masked(), errdefs.ErrInvalidArgument)
	}
	return nil
}

// Gateway is the first host address of subnet, which the bridge holds.
func Gateway(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// CheckGateway reports whether gateway can be the bridge's address in
// subnet: a host address of it, neither the network nor the broadcast one.
func CheckGateway(subnet netip.Prefix, gateway netip.Addr) error {
	if !subnet.Contains(gateway) || gateway == subnet.Masked().Addr() || gateway == Broadcast(subnet) {
		return fmt.Errorf("gateway %s: not a host address of subnet %s: %w", gateway, subnet, errdefs.ErrInvalidArgument)
	}
	return nil
}

// Broadcast is the last address of an IPv4 subnet; IPv6 has no broadcast
// address, so an IPv6 subnet's is the zero Addr, which equals no address.
func Broadcast(subnet netip.Prefix) netip.Addr {
	if !subnet.Addr().Is4() {
		return netip.Addr{}
	}
	a := subnet.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-subnet.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

// MACFor is the stable MAC of an IPv4 address, as Docker derives it:
// 02:42 (locally administered, unicast) then the address's four bytes. An
// address keeps its MAC across restarts, so neighbours' ARP caches stay right.
func MACFor(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// defaultCandidates are the /16s DefaultSubnet tries, in order: Docker's
// 172.17–172.31 first, then a stretch of 10.x that home and office networks
// rarely use.
func defaultCandidates() []netip.Prefix {
	var out []netip.Prefix
	for b := 17; b <= 31; b++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(b), 0, 0}), 16))
	}
	for b := 200; b <= 254; b++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b), 0, 0}), 16))
	}
	return out
}

// DefaultSubnet picks the first candidate /16 that overlaps none of
// hostRoutes. Default routes (/0) are ignored: they overlap everything and
// say nothing about which addresses are in use.
func DefaultSubnet(hostRoutes []netip.Prefix) (netip.Prefix, error) {
	for _, c := range defaultCandidates() {
		if !overlapsAny(c, hostRoutes) {
			return c, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("default subnet: every candidate overlaps a host route: %w", errdefs.ErrConflict)
}

func overlapsAny(p netip.Prefix, routes []netip.Prefix) bool {
	for _, r := range routes {
		if r.IsValid() && r.Bits() > 0 && r.Overlaps(p) {
			return true
		}
	}
	return false
}

// HostRoutes lists the IPv4 destinations of the host's routes in every
// table, the input DefaultSubnet and callers choosing a subnet
// check against. It needs no privilege.
func HostRoutes() ([]netip.Prefix, error) {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if !ok {
			continue
		}
		out = append(out, netip.PrefixFrom(a, ones).Masked())
	}
	return out, nil
}

func ipNet(p netip.Prefix, a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}
