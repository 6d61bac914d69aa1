package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	kernel "github.com/pier-engine/pier/internal/network"
)

// Metadata kinds of the network records: one per network, and one per
// container listing its endpoints.
const (
	networkKind  = "networks"
	endpointKind = "endpoints"
)

// Drivers. "host" and "null" are the pseudo-networks Docker lists for the
// host and none modes; only bridge networks have a bridge.
const (
	driverBridge = "bridge"
	driverHost   = "host"
	driverNull   = "null"
)

// netRecord is a network as the controller keeps it. Its bridge and rules
// exist in the kernel only while a container is attached (see Controller).
type netRecord struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Driver string       `json:"driver"`
	Bridge string       `json:"bridge,omitempty"`
	Subnet netip.Prefix `json:"subnet,omitzero"`
	// Gateway is the bridge's address when the user chose one other than
	// the subnet's first (IPAM Config Gateway); zero means the first.
	Gateway netip.Addr `json:"gateway,omitzero"`
	// IPRange narrows the addresses handed out; AuxAddresses are never
	// handed out (IPAM Config IPRange, AuxiliaryAddresses).
	IPRange      netip.Prefix          `json:"ipRange,omitzero"`
	AuxAddresses map[string]netip.Addr `json:"auxAddresses,omitempty"`
	// IPAMOptions are shown back as given: null when the request had none.
	IPAMOptions map[string]string `json:"ipamOptions"`
	// EnableIPv6 makes the network dual stack: Subnet6 (given, or a ULA
	// /64 pier picked), its gateway (zero: the first address), range and
	// reserved addresses, as the IPAM config's IPv6 entry gives them.
	EnableIPv6    bool                  `json:"enableIPv6,omitempty"`
	Subnet6       netip.Prefix          `json:"subnet6,omitzero"`
	Gateway6      netip.Addr            `json:"gateway6,omitzero"`
	IPRange6      netip.Prefix          `json:"ipRange6,omitzero"`
	AuxAddresses6 map[string]netip.Addr `json:"auxAddresses6,omitempty"`
	// AutoSubnet says pier picked the subnet, so it may move it to a free
	// one when the host has taken it meanwhile (see bringUp).
	AutoSubnet bool              `json:"autoSubnet,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	Created    time.Time         `json:"created"`
}

func (n netRecord) gateway() netip.Addr { return gatewayOr(n.Gateway, n.Subnet) }

func (n netRecord) gateway6() netip.Addr { return gatewayOr(n.Gateway6, n.Subnet6) }

// gatewayOr is the gateway the user chose, or else the subnet's first
// address.
func gatewayOr(chosen netip.Addr, subnet netip.Prefix) netip.Addr {
	if chosen.IsValid() {
		return chosen
	}
	return kernel.Gateway(subnet)
}

// pool is n's addressing as its IPAM hands addresses out.
func (n netRecord) pool() kernel.Pool {
	return addrPool(n.Subnet, n.gateway(), n.IPRange, n.AuxAddresses)
}

// pool6 is n's IPv6 addressing as its IPAM hands addresses out.
func (n netRecord) pool6() kernel.Pool {
	return addrPool(n.Subnet6, n.gateway6(), n.IPRange6, n.AuxAddresses6)
}

// addrPool is one family's IPAM pool: the aux addresses are reserved,
// sorted (a map's order is random).
func addrPool(subnet netip.Prefix, gw netip.Addr, rng netip.Prefix, aux map[string]netip.Addr) kernel.Pool {
	p := kernel.Pool{Subnet: subnet, Gateway: gw, Range: rng}
	for _, a := range aux {
		p.Reserved = append(p.Reserved, a)
	}
	slices.SortFunc(p.Reserved, func(a, b netip.Addr) int { return a.Compare(b) })
	return p
}

// predefined reports the networks Docker will not let a user remove.
func (n netRecord) predefined() bool {
	return n.Name == "bridge" || n.Name == "host" || n.Name == "none"
}

// endpointRecord is a container's attachment to one network: what the
// user asked for at create or connect, and, while it runs, what was made.
type endpointRecord struct {
	NetworkID    string            `json:"networkId"`
	Aliases      []string          `json:"aliases,omitempty"`
	Links        []string          `json:"links,omitempty"`        // kept and shown, as dockerd's
	LinkLocalIPs []netip.Addr      `json:"linkLocalIps,omitempty"` // kept and shown, as dockerd's
	RequestedIP  netip.Addr        `json:"requestedIp,omitzero"`
	RequestedIP6 netip.Addr        `json:"requestedIp6,omitzero"`
	RequestedMAC string            `json:"requestedMac,omitempty"`
	DriverOpts   map[string]string `json:"driverOpts,omitempty"`
	Egress       uint64            `json:"egress,omitempty"`  // bit/s the container may send
	Ingress      uint64            `json:"ingress,omitempty"` // bit/s it may receive
	// Order is the interface's index: eth<Order>.
	Order int `json:"order"`

	// Set while the container runs.
	IP       netip.Addr          `json:"ip,omitzero"`
	IP6      netip.Addr          `json:"ip6,omitzero"` // on a network with IPv6
	HostVeth string              `json:"hostVeth,omitempty"`
	IfName   string              `json:"ifName,omitempty"`
	Ports    []kernel.PortHandle `json:"ports,omitempty"`
	Mapped   []portMapping       `json:"mapped,omitempty"`
}

// portMapping is one published port as inspect shows it.
type portMapping struct {
	Proto         string     `json:"proto"`
	HostIP        netip.Addr `json:"hostIp"`
	HostPort      uint16     `json:"hostPort"`
	ContainerPort uint16     `json:"containerPort"`
}

// ctrEndpoints is the endpoints record of one container, by network id.
type ctrEndpoints struct {
	Endpoints map[string]*endpointRecord `json:"endpoints"`
}

// ordered lists the endpoints by interface index.
func (c ctrEndpoints) ordered() []*endpointRecord {
	out := make([]*endpointRecord, 0, len(c.Endpoints))
	for _, e := range c.Endpoints {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *endpointRecord) int { return a.Order - b.Order })
	return out
}

func newNetworkID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// networkRecords reads every network record, making the predefined ones
// on first use.
func (c *Controller) networkRecords() ([]netRecord, error) {
	if err := c.ensurePredefined(); err != nil {
		return nil, err
	}
	return c.readNetworks()
}

func (c *Controller) readNetworks() ([]netRecord, error) {
	ids, err := c.md.List(networkKind)
	if err != nil {
		return nil, err
	}
	out := make([]netRecord, 0, len(ids))
	for _, id := range ids {
		var n netRecord
		if err := c.md.Get(networkKind, id, &n); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b netRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ensurePredefined records "bridge", "host" and "none" once. The default
// bridge's subnet is the first candidate that collides with no host route
// and no other network, or the one pier0 already holds.
func (c *Controller) ensurePredefined() error {
	c.defOnce.Do(func() { c.defErr = c.makePredefined() })
	return c.defErr
}

func (c *Controller) makePredefined() error {
	recs, err := c.readNetworks()
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, n := range recs {
		have[n.Name] = true
	}
	for _, n := range []netRecord{{Name: "bridge", Driver: driverBridge}, {Name: "host", Driver: driverHost}, {Name: "none", Driver: driverNull}} {
		if have[n.Name] {
			continue
		}
		n.ID, n.Created = newNetworkID(), time.Now().UTC()
		if n.Driver == driverBridge {
			n.Bridge = c.defaultBridge()
			if n.Subnet, err = c.freeSubnet(recs); err != nil {
				return err
			}
			n.AutoSubnet = true
		}
		if err := c.md.Create(networkKind, n.ID, &n); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	return nil
}

// defaultBridge names the default network's bridge: pier0 for the
// daemon at the default root; another root (a second pierd, a test's) gets
// its own, so two daemons never share a bridge whose addresses each
// allocates alone.
func (c *Controller) defaultBridge() string {
	if c.defaultRoot {
		return kernel.DefaultName
	}
	sum := sha256.Sum256([]byte(c.root))
	return kernel.DefaultName + "-" + hex.EncodeToString(sum[:])[:6]
}

// freeSubnet picks a /16 overlapping neither the host's routes nor any
// network's subnet.
func (c *Controller) freeSubnet(recs []netRecord) (netip.Prefix, error) {
	routes, err := kernel.HostRoutes()
	if err != nil {
		return netip.Prefix{}, err
	}
	for _, n := range recs {
		if n.Subnet.IsValid() {
			routes = append(routes, n.Subnet)
		}
	}
	return kernel.DefaultSubnet(routes)
}

// freeSubnet6 picks a ULA /64 overlapping neither the host's IPv6 routes
// nor any network's IPv6 subnet.
func (c *Controller) freeSubnet6(recs []netRecord) (netip.Prefix, error) {
	routes, err := kernel.HostRoutes6()
	if err != nil {
		return netip.Prefix{}, err
	}
	var taken []netip.Prefix
	for _, n := range recs {
		if n.Subnet6.IsValid() {
			taken = append(taken, n.Subnet6)
		}
	}
	return kernel.DefaultSubnet6(routes, taken)
}

// findNetwork finds a network by full id, name or unique id prefix, as
// dockerd does.
func (c *Controller) findNetwork(ref string) (netRecord, error) {
	recs, err := c.networkRecords()
	if err != nil {
		return netRecord{}, err
	}
	switch ref {
	case "", "default":
		ref = "bridge"
	}
	// dockerd's order: the full id, then the name, then an id prefix. A
	// name two networks share (CheckDuplicate=false) is ambiguous.
	var named, prefixed []netRecord
	for _, n := range recs {
		if n.ID == ref {
			return n, nil
		}
		if n.Name == ref {
			named = append(named, n)
		}
		if strings.HasPrefix(n.ID, ref) {
			prefixed = append(prefixed, n)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	if len(named) > 1 {
		ids := make([]string, len(named))
		for i, n := range named {
			ids[i] = n.ID
		}
		return netRecord{}, fmt.Errorf("network %s is ambiguous (%d matches found based on name: %s): %w", ref, len(named), strings.Join(ids, ", "), errdefs.ErrInvalidArgument)
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	if len(prefixed) > 1 {
		return netRecord{}, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix): %w", ref, len(prefixed), errdefs.ErrInvalidArgument)
	}
	return netRecord{}, errdefs.Newf(errdefs.ErrNotFound, "network %s not found", ref)
}

// endpointsOf reads a container's endpoints; none recorded is an empty
// set.
func (c *Controller) endpointsOf(id string) ctrEndpoints {
	var eps ctrEndpoints
	if err := c.md.Get(endpointKind, id, &eps); err != nil || eps.Endpoints == nil {
		eps.Endpoints = map[string]*endpointRecord{}
	}
	return eps
}

// mac is the endpoint's MAC address: the one asked for, else the stable
// one its address gives.
func (ep *endpointRecord) mac() net.HardwareAddr {
	if hw, err := net.ParseMAC(ep.RequestedMAC); err == nil {
		return hw
	}
	return kernel.MACFor(ep.IP)
}
