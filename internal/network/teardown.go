package network

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BridgeInUse reports whether any link is still enslaved to the bridge
// name; a missing bridge is not in use.
func BridgeInUse(name string) (bool, error) {
	br, err := linkIfAny(name)
	if err != nil {
		return false, fmt.Errorf("bridge %s: look up: %w", name, err)
	}
	if br == nil {
		return false, nil
	}
	links, err := netlink.LinkList()
	if err != nil {
		return false, fmt.Errorf("bridge %s: list links: %w", name, err)
	}
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			return true, nil
		}
	}
	return false, nil
}

// DeleteTableIfEmpty removes pier's table when no rule is left in it, so
// a host without pier networks in use carries no trace of pier. Another
// pierd's rules keep it.
func DeleteTableIfEmpty() error {
	nftMu.Lock()
	defer nftMu.Unlock()
	return errors.Join(deleteTableIfEmpty(nftables.TableFamilyIPv4), deleteTableIfEmpty(nftables.TableFamilyIPv6))
}

// deleteTableIfEmpty is DeleteTableIfEmpty for the table of one family;
// nftMu is held.
func deleteTableIfEmpty(fam nftables.TableFamily) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: open: %w", err)
	}
	t := pierTableOf(fam)
	chains, err := c.ListChainsOfTableFamily(fam)
	if err != nil {
		return fmt.Errorf("nftables: list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return fmt.Errorf("nftables: list chain %s: %w", ch.Name, err)
		}
		if len(rules) > 0 {
			return nil
		}
	}
	c.DelTable(t)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table %s %s: %w", familyName(fam), TableName, err)
	}
	return nil
}

// HostMTU is the MTU of the interface the host's default route leaves
// through, the MTU bridges should take so containers never send frames the
// uplink cannot carry; 1500 when there is no default route.
func HostMTU() int {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return 1500
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.IP != nil && !r.Dst.IP.IsUnspecified() {
			continue
		}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil && l.Attrs().MTU > 0 {
			return l.Attrs().MTU
		}
	}
	return 1500
}

// BridgeSubnet is the subnet of the address the bridge name holds, if it
// exists and holds one: a network recreated over a bridge left behind
// keeps its subnet rather than conflicting with it.
func BridgeSubnet(name string) (netip.Prefix, bool) {
	l, err := netlink.LinkByName(name)
	if err != nil || l.Type() != "bridge" {
		return netip.Prefix{}, false
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil || len(addrs) == 0 {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(addrs[0].IP.To4())
	ones, _ := addrs[0].Mask.Size()
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones).Masked(), true
}
