package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Endpoint is one container's connection to a bridge: a veth pair whose
// host side is a port of the bridge and whose peer lives in the container's
// network namespace.
type Endpoint struct {
	HostName  string // the host side, "pier" + 7 characters
	IfName    string // the peer's name inside the namespace, usually eth0
	IP        netip.Addr
	IP6       netip.Addr // zero on a bridge without IPv6
	MAC       net.HardwareAddr
	Bridge    string
	NetnsPath string
}

// EndpointConfig says how to attach; Attach fills the usual defaults.
type EndpointConfig struct {
	NetnsPath string // e.g. /proc/<pid>/ns/net or a bind mount of it
	Bridge    *Bridge
	IP        netip.Addr
	IP6       netip.Addr       // an address of Bridge.Subnet6, or zero for none
	IfName    string           // name inside the namespace; "eth0" when empty
	HostName  string           // host side; random when empty (see VethName)
	MAC       net.HardwareAddr // MACFor(IP) when nil
	// NoDefaultRoute leaves the namespace's routes alone: a second network
	// connected to a container must not replace the first one's default.
	NoDefaultRoute bool
}

// vethPrefix marks pier's host-side veths, so an operator (and a clean-up
// after a crash) can tell them apart.
const vethPrefix = "pier"

// VethName is the host-side veth name for a container: "pier" and the first
// seven characters of its id when that is hex (as Docker's ids are), else of
// the id's SHA-256. It fits IFNAMSIZ.
func VethName(containerID string) string {
	s := containerID
	if len(s) < 7 || !isHex(s[:7]) {
		sum := sha256.Sum256([]byte(containerID))
		s = hex.EncodeToString(sum[:])
	}
	return vethPrefix + s[:7]
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s + s) // doubled so odd lengths decode
	return err == nil
}

func randomVethName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails on Linux
	return vethPrefix + hex.EncodeToString(b)[:7]
}

// Attach connects the namespace at netnsPath to bridge with address ip on
// an interface named ifname, with a random host-side name. See AttachConfig.
func Attach(netnsPath string, bridge *Bridge, ip netip.Addr, ifname string) (*Endpoint, error) {
	return AttachConfig(EndpointConfig{NetnsPath: netnsPath, Bridge: bridge, IP: ip, IfName: ifname})
}

// AttachConfig creates the veth pair with its peer born inside the target
// namespace (so no name in the host can collide with eth0), enslaves the
// host side to the bridge in hairpin mode (a container can reach its own
// published port) and brings it up; then, inside the namespace, sets the
// address, brings the interface and lo up and adds the default route via the
// gateway. Both sides get the bridge's MTU. On any error the pair is deleted:
// nothing is left behind.
func AttachConfig(c EndpointConfig) (ep *Endpoint, err error) {
	if c.Bridge == nil || !c.Bridge.Subnet.Contains(c.IP) || c.IP == c.Bridge.Gateway {
		return nil, fmt.Errorf("attach %s: address %s not a container address of the bridge: %w", c.NetnsPath, c.IP, errdefs.ErrInvalidArgument)
	}
	if c.IfName == "" {
		c.IfName = "eth0"
	}
	if c.MAC == nil {
		c.MAC = MACFor(c.IP)
	}
	for _, n := range []string{c.IfName, c.HostName} {
		if n != "" {
			if err := checkIfName(n); err != nil {
				return nil, fmt.Errorf("attach %s: %w", c.NetnsPath, err)
			}
		}
	}
	ns, err := netns.GetFromPath(c.NetnsPath)
	if err != nil {
		return nil, fmt.Errorf("attach: open netns %s: %w", c.NetnsPath, err)
	}
	defer ns.Close()

	host, err := addVeth(c, ns)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// Deleting one side deletes the pair, wherever the peer is.
			_ = netlink.LinkDel(host)
		}
	}()
	if err := plugHost(host, c.Bridge); err != nil {
		return nil, err
	}
	if err := configurePeer(ns, c); err != nil {
		return nil, err
	}
	return &Endpoint{
		HostName: host.Attrs().Name, IfName: c.IfName, IP: c.IP, IP6: c.IP6, MAC: c.MAC,
		Bridge: c.Bridge.Name, NetnsPath: c.NetnsPath,
	}, nil
}

// addVeth creates the pair, retrying a random host name that happens to
// exist.
func addVeth(c EndpointConfig, ns netns.NsHandle) (netlink.Link, error) {
	for try := 0; ; try++ {
		name := c.HostName
		if name == "" {
			name = randomVethName()
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		attrs.MTU = c.Bridge.MTU
		veth := &netlink.Veth{
			LinkAttrs:        attrs,
			PeerName:         c.IfName,
			PeerHardwareAddr: c.MAC,
			PeerNamespace:    netlink.NsFd(ns),
			PeerMTU:          uint32(c.Bridge.MTU),
		}
		err := netlink.LinkAdd(veth)
		if errors.Is(err, unix.EEXIST) && c.HostName == "" && try < 3 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("attach: create veth %s (peer %s in %s): %w", name, c.IfName, c.NetnsPath, err)
		}
		link, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("attach: look up veth %s: %w", name, err)
		}
		return link, nil
	}
}

func plugHost(host netlink.Link, br *Bridge) error {
	name := host.Attrs().Name
	bl, err := netlink.LinkByName(br.Name)
	if err != nil {
		return fmt.Errorf("attach: veth %s: look up bridge %s: %w", name, br.Name, err)
	}
	if err := netlink.LinkSetMaster(host, bl); err != nil {
		return fmt.Errorf("attach: veth %s: set master %s: %w", name, br.Name, err)
	}
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("attach: veth %s: set hairpin: %w", name, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("attach: veth %s: set up: %w", name, err)
	}
	return nil
}

// configurePeer works inside the namespace through a netlink socket opened
// there, so no thread of ours ever changes namespace.
func configurePeer(ns netns.NsHandle, c EndpointConfig) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("attach: netlink in %s: %w", c.NetnsPath, err)
	}
	defer h.Close()
	step := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("attach: %s in %s: %s: %w", c.IfName, c.NetnsPath, what, err)
		}
		return nil
	}
	link, err := h.LinkByName(c.IfName)
	if err := step("look up", err); err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: ipNet(c.Bridge.Subnet, c.IP)}
	if err := step("add address "+addr.IPNet.String(), h.AddrAdd(link, addr)); err != nil {
		return err
	}
	if err := step("set up", h.LinkSetUp(link)); err != nil {
		return err
	}
	lo, err := h.LinkByName("lo")
	if err := step("look up lo", err); err != nil {
		return err
	}
	if err := step("set lo up", h.LinkSetUp(lo)); err != nil {
		return err
	}
	if c.IP6.IsValid() {
		if err := step("IPv6", configurePeer6(h, ns, link, c)); err != nil {
			return err
		}
	}
	if c.NoDefaultRoute {
		return nil
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: c.Bridge.Gateway.AsSlice()}
	return step("add default route via "+c.Bridge.Gateway.String(), h.RouteAdd(route))
}

// Detach removes the endpoint's veth pair by deleting its host side, and
// the ifb Limit may have made. A pair
// already gone (the namespace died and took it along) is not an error.
func Detach(ep *Endpoint) error {
	if err := deleteIfb(IfbName(ep.HostName)); err != nil {
		return fmt.Errorf("detach %s: %w", ep.HostName, err)
	}
	link, err := linkIfAny(ep.HostName)
	if err != nil {
		return fmt.Errorf("detach: look up veth %s: %w", ep.HostName, err)
	}
	if link == nil {
		return nil
	}
	if link.Type() != "veth" {
		return fmt.Errorf("detach: %s is a %s, not a veth: %w", ep.HostName, link.Type(), errdefs.ErrConflict)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("detach: delete veth %s: %w", ep.HostName, err)
	}
	return nil
}
