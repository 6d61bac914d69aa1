package daemon

import (
	"net/netip"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// networkInspect fills the network parts of an inspect: each network's
// endpoint (with its address while the container runs), the published
// ports, and the namespace file.
func (d *Daemon) networkInspect(r containerRecord, resp *container.InspectResponse) {
	ns := resp.NetworkSettings
	ns.Networks = d.endpointSettings(r)
	ns.Ports = network.PortMap{}
	for _, p := range d.exposedPorts(r) {
		ns.Ports[p] = nil
	}
	for _, m := range d.mappings(r) {
		p, ok := network.PortFrom(m.ContainerPort, network.IPProtocol(m.Proto))
		if !ok {
			continue
		}
		ns.Ports[p] = append(ns.Ports[p], network.PortBinding{HostIP: hostIPOf(m.HostIP), HostPort: strconv.Itoa(int(m.HostPort))})
	}
	if path := d.netnsPath(r.ID, r.HostConfig); path != "" && r.State == container.StateRunning {
		ns.SandboxKey = path
	}
}

// networkSummary fills the network parts of a `ps` row.
func (d *Daemon) networkSummary(r containerRecord, s *container.Summary) {
	s.NetworkSettings = &container.NetworkSettingsSummary{Networks: d.endpointSettings(r)}
	mapped := map[network.Port]bool{}
	for _, m := range d.mappings(r) {
		s.Ports = append(s.Ports, container.PortSummary{
			IP: hostIPOf(m.HostIP), PrivatePort: m.ContainerPort, PublicPort: m.HostPort, Type: m.Proto,
		})
		if p, ok := network.PortFrom(m.ContainerPort, network.IPProtocol(m.Proto)); ok {
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
func (d *Daemon) mappings(r containerRecord) []portMapping {
	if r.State != container.StateRunning {
		return nil
	}
	var out []portMapping
	for _, ep := range d.endpointsOf(r.ID).ordered() {
		out = append(out, ep.Mapped...)
	}
	return out
}

// endpointSettings is the Networks map of inspect and ps: host and none
// show their pseudo-network, container:<x> none at all.
func (d *Daemon) endpointSettings(r containerRecord) map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	m := r.HostConfig.NetworkMode
	switch {
	case m.IsContainer():
		return out
	case m.IsHost(), m.IsNone():
		if n, err := d.findNetwork(string(m)); err == nil {
			out[n.Name] = &network.EndpointSettings{NetworkID: n.ID}
		}
		return out
	}
	running := r.State == container.StateRunning
	for _, ep := range d.endpointsOf(r.ID).ordered() {
		n, err := d.networkByID(ep.NetworkID)
		if err != nil {
			continue
		}
		es := &network.EndpointSettings{NetworkID: n.ID, Aliases: ep.Aliases, DriverOpts: ep.DriverOpts}
		if ep.RequestedIP.IsValid() {
			es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ep.RequestedIP}
		}
		if !n.predefined() {
			es.DNSNames = shortAliases(r, ep)
		}
		if running && ep.IP.IsValid() {
			es.EndpointID = ep.HostVeth
			es.Gateway, es.IPAddress, es.IPPrefixLen = n.gateway(), ep.IP, n.Subnet.Bits()
			es.MacAddress = network.HardwareAddr(ep.mac())
		}
		out[n.Name] = es
	}
	return out
}
