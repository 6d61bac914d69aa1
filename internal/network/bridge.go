package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Bridge is a Linux bridge pier made for one network.
type Bridge struct {
	Name    string
	Subnet  netip.Prefix
	Gateway netip.Addr // the bridge's own address, the containers' default route
	MTU     int
	// Subnet6 and Gateway6 are set on a network with IPv6 (EnsureBridge6).
	Subnet6  netip.Prefix
	Gateway6 netip.Addr
}

// maxIfName is IFNAMSIZ less the terminating NUL.
const maxIfName = 15

func checkIfName(name string) error {
	if name == "" || len(name) > maxIfName || name == "." || name == ".." {
		return fmt.Errorf("interface name %q: empty or longer than %d bytes: %w", name, maxIfName, errdefs.ErrInvalidArgument)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r > '~' {
			return fmt.Errorf("interface name %q: character %q: %w", name, r, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// EnsureBridge makes the bridge name exist, hold the gateway address of
// subnet, have the MTU and be up. It is idempotent: a daemon restart calls
// it again over the existing bridge. An existing link of that name that is
// not a bridge pier created (owner.go) is a conflict, never repurposed. mtu
// 0 keeps the kernel's default (1500).
func EnsureBridge(name string, subnet netip.Prefix, mtu int) (*Bridge, error) {
	return EnsureBridgeGateway(name, subnet, Gateway(subnet), mtu)
}

// EnsureBridgeGateway is EnsureBridge with the bridge holding gateway, a
// host address of subnet other than the first (docker network create
// --gateway).
func EnsureBridgeGateway(name string, subnet netip.Prefix, gateway netip.Addr, mtu int) (*Bridge, error) {
	if err := checkIfName(name); err != nil {
		return nil, err
	}
	if err := checkSubnet(subnet); err != nil {
		return nil, err
	}
	if err := CheckGateway(subnet, gateway); err != nil {
		return nil, err
	}
	br := &Bridge{Name: name, Subnet: subnet, Gateway: gateway, MTU: mtu}
	link, created, err := ensureBridgeLink(name, mtu)
	if err != nil {
		return nil, err
	}
	if err := configureBridge(link, br); err != nil {
		if created {
			_ = netlink.LinkDel(link)
		}
		return nil, err
	}
	br.MTU = link.Attrs().MTU
	if mtu > 0 {
		br.MTU = mtu
	}
	return br, nil
}

func ensureBridgeLink(name string, mtu int) (netlink.Link, bool, error) {
	link, err := netlink.LinkByName(name)
	if err == nil {
		if err := checkOwned(link); err != nil {
			return nil, false, err
		}
		if link.Attrs().Alias != bridgeAlias {
			if err := netlink.LinkSetAlias(link, bridgeAlias); err != nil {
				return nil, false, fmt.Errorf("bridge %s: mark as pier's: %w", name, err)
			}
		}
		return link, false, nil
	}
	var nf netlink.LinkNotFoundError
	if !errors.As(err, &nf) {
		return nil, false, fmt.Errorf("bridge %s: look up: %w", name, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.MTU = mtu
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return nil, false, fmt.Errorf("bridge %s: create: %w", name, err)
	}
	link, err = netlink.LinkByName(name)
	if err != nil {
		return nil, false, fmt.Errorf("bridge %s: look up after create: %w", name, err)
	}
	if err := netlink.LinkSetAlias(link, bridgeAlias); err != nil {
		_ = netlink.LinkDel(link)
		return nil, false, fmt.Errorf("bridge %s: mark as pier's: %w", name, err)
	}
	return link, true, nil
}

// configureBridge sets the MTU, the gateway address (once) and brings the
// bridge up.
func configureBridge(link netlink.Link, br *Bridge) error {
	if br.MTU > 0 && link.Attrs().MTU != br.MTU {
		if err := netlink.LinkSetMTU(link, br.MTU); err != nil {
			return fmt.Errorf("bridge %s: set mtu %d: %w", br.Name, br.MTU, err)
		}
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("bridge %s: list addresses: %w", br.Name, err)
	}
	has := false
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP.To4())
		ones, _ := a.Mask.Size()
		if ip == br.Gateway && ones == br.Subnet.Bits() {
			has = true
			continue
		}
		// Another address from a different subnet means the network was
		// recreated with a new subnet over a bridge left behind.
		return fmt.Errorf("bridge %s: holds %s, want %s/%d: %w", br.Name, a.IPNet, br.Gateway, br.Subnet.Bits(), errdefs.ErrConflict)
	}
	if !has {
		addr := &netlink.Addr{IPNet: ipNet(br.Subnet, br.Gateway)}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("bridge %s: add address %s: %w", br.Name, addr.IPNet, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bridge %s: set up: %w", br.Name, err)
	}
	return nil
}

// DeleteBridge removes the bridge name; its address and the kernel's routes
// for its subnet go with it. A missing bridge is not an error, and neither
// is a bridge pier did not create: it is left alone. Veths still enslaved
// to it are released by the kernel, not deleted.
func DeleteBridge(name string) error {
	link, err := linkIfAny(name)
	if err != nil {
		return fmt.Errorf("bridge %s: look up: %w", name, err)
	}
	if link == nil {
		return nil
	}
	if link.Type() != "bridge" {
		return fmt.Errorf("bridge %s: a %s link has that name: %w", name, link.Type(), errdefs.ErrConflict)
	}
	if !ownedBridge(link) {
		return nil
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("bridge %s: delete: %w", name, err)
	}
	return nil
}

// setSysctl writes a value under /proc/sys/net.
func setSysctl(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", path, value, err)
	}
	return nil
}
