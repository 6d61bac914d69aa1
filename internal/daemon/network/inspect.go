package network

import (
	"net/netip"
	"strconv"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"
)

// InspectContainer fills the network parts of an inspect: each network's
// endpoint (with its address while the container runs), the published
// ports, and the namespace file.
func (c *Controller) InspectContainer(r Container, resp *container.InspectResponse) {
	ns := resp.NetworkSettings
	ns.Networks = c.endpointSettings(r)
	ns.Ports = apinet.PortMap{}
	for _, p := range c.exposedPorts(r) {
		ns.Ports[p] = nil
	}
	for _, m := range c.mappings(r) {
		p, ok := apinet.PortFrom(m.ContainerPort, apinet.IPProtocol(m.Proto))
		if !ok {
			continue
		}
		ns.Ports[p] = append(ns.Ports[p], apinet.PortBinding{HostIP: hostIPOf(m.HostIP), HostPort: strconv.Itoa(int(m.HostPort))})
	}
	if path := c.NetnsPath(r.ID, r.HostConfig); path != "" && r.State == container.StateRunning {
		ns.SandboxKey = path
	}
}

// SummarizeContainer fills the network parts of a `ps` row.
func (c *Controller) SummarizeContainer(r Container, s *container.Summary) {
	s.NetworkSettings = &container.NetworkSettingsSummary{Networks: c.endpointSettings(r)}
	mapped := map[apinet.Port]bool{}
	for _, m := range c.mappings(r) {
		s.Ports = append(s.Ports, container.PortSummary{
			IP: hostIPOf(m.HostIP), PrivatePort: m.ContainerPort, PublicPort: m.HostPort, Type: m.Proto,
		})
		if p, ok := apinet.PortFrom(m.ContainerPort, apinet.IPProtocol(m.Proto)); ok {
			mapped[p] = true
		}
	}
	for p := range r.Config.ExposedPorts {
		if !mapped[p] {
			s.Ports = append(s.Ports, container.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
		}
	}
}

func hostIPOf(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.IPv4Unspecified()
	}
	return a
}

// mappings are the ports published for r while it runs.
func (c *Controller) mappings(r Container) []portMapping {
	if r.State != container.StateRunning {
		return nil
	}
	var out []portMapping
	for _, ep := range c.endpointsOf(r.ID).ordered() {
		out = append(out, ep.Mapped...)
	}
	return out
}

// endpointSettings is the Networks map of inspect and ps: host and none
// show their pseudo-network, container:<x> none at all.
func (c *Controller) endpointSettings(r Container) map[string]*apinet.EndpointSettings {
	out := map[string]*apinet.EndpointSettings{}
	m := r.HostConfig.NetworkMode
	switch {
	case m.IsContainer():
		return out
	case m.IsHost(), m.IsNone():
		if n, err := c.findNetwork(string(m)); err == nil {
			out[n.Name] = &apinet.EndpointSettings{NetworkID: n.ID}
		}
		return out
	}
	running := r.State == container.StateRunning
	for _, ep := range c.endpointsOf(r.ID).ordered() {
		n, err := c.networkByID(ep.NetworkID)
		if err != nil {
			continue
		}
		es := &apinet.EndpointSettings{NetworkID: n.ID, Aliases: ep.Aliases, Links: ep.Links, DriverOpts: ep.DriverOpts}
		if ep.RequestedIP.IsValid() || ep.RequestedIP6.IsValid() || len(ep.LinkLocalIPs) > 0 {
			es.IPAMConfig = &apinet.EndpointIPAMConfig{IPv4Address: ep.RequestedIP, IPv6Address: ep.RequestedIP6, LinkLocalIPs: ep.LinkLocalIPs}
		}
		if !n.predefined() {
			es.DNSNames = shortAliases(r, ep)
		}
		if running && ep.IP.IsValid() {
			es.EndpointID = ep.HostVeth
			es.Gateway, es.IPAddress, es.IPPrefixLen = n.gateway(), ep.IP, n.Subnet.Bits()
			es.MacAddress = apinet.HardwareAddr(ep.mac())
			if ep.IP6.IsValid() {
				es.GlobalIPv6Address, es.GlobalIPv6PrefixLen, es.IPv6Gateway = ep.IP6, n.Subnet6.Bits(), n.gateway6()
			}
		}
		out[n.Name] = es
	}
	return out
}
