package network

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"

	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	kernel "github.com/pier-engine/pier/internal/network"
	"github.com/pier-engine/pier/internal/trace"
)

// vethFor is the host side of container id's veth on network netID: a
// name that depends on both alone, so clean-up after a crash finds it
// without any record.
func vethFor(id, netID string) string { return kernel.VethName("n" + netID + id) }

// attach connects the namespace at path to n as ifname and records what
// it made in ep; c.mu is held. The first interface also gets the
// container's published ports.
func (c *Controller) attach(r Container, n netRecord, ep *endpointRecord, path, ifname string) error {
	br, err := c.bringUp(&n)
	if err != nil {
		return err
	}
	m, err := c.ipamOf(n)
	if err != nil {
		return err
	}
	if err := releaseOwned(m, r.ID); err != nil {
		return err
	}
	ip := ep.RequestedIP
	if ip.IsValid() {
		err = m.AllocateAddr(ip, r.ID)
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			err = fmt.Errorf("Address already in use: %s: %w", ip, errdefs.ErrConflict)
		}
	} else {
		ip, err = m.Allocate(r.ID)
	}
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	trace.Mark("pierd", "network: bridge up, address allocated")
	ip6, err := c.allocate6(r.ID, n, ep)
	if err != nil {
		return err
	}
	ep.IP, ep.IP6, ep.HostVeth, ep.IfName = ip, ip6, vethFor(r.ID, n.ID), ifname
	c.waitDetaches(ep.HostVeth)
	if err := kernel.Detach(&kernel.Endpoint{HostName: ep.HostVeth}); err != nil {
		return err
	}
	_, err = kernel.AttachConfig(kernel.EndpointConfig{
		NetnsPath: path, Bridge: br, IP: ip, IP6: ip6, IfName: ifname, HostName: ep.HostVeth, MAC: ep.mac(),
		NoDefaultRoute: ifname != "eth0",
	})
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	trace.Mark("pierd", "network: veth made, moved, addressed")
	if ep.Egress > 0 || ep.Ingress > 0 {
		if err := kernel.Limit(ep.HostVeth, ep.Egress, ep.Ingress); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	if !n.predefined() {
		c.setName(n.ID, r, ep)
	}
	if ifname == "eth0" {
		return c.publish(r, ep)
	}
	return nil
}

// allocate6 gives container id its IPv6 address on a dual-stack network
// n: the one asked for (--ip6) or the next free one; c.mu is held.
func (c *Controller) allocate6(id string, n netRecord, ep *endpointRecord) (netip.Addr, error) {
	if !n.EnableIPv6 {
		return netip.Addr{}, nil
	}
	m, err := c.ipam6Of(n)
	if err != nil {
		return netip.Addr{}, err
	}
	if err := releaseOwned(m, id); err != nil {
		return netip.Addr{}, err
	}
	ip := ep.RequestedIP6
	if ip.IsValid() {
		err = m.AllocateAddr(ip, id)
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			err = fmt.Errorf("Address already in use: %s: %w", ip, errdefs.ErrConflict)
		}
	} else {
		ip, err = m.Allocate(id)
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	return ip, nil
}

// publish makes r's -p and -P ports lead to ep's address.
func (c *Controller) publish(r Container, ep *endpointRecord) error {
	if len(r.HostConfig.PortBindings) == 0 && !r.HostConfig.PublishAllPorts {
		return nil
	}
	var exposed []apinet.Port
	if r.HostConfig.PublishAllPorts {
		exposed = c.exposedPorts(r)
	}
	ports, err := portPlan(r.HostConfig, exposed, ep.IP, ep.IP6)
	if err != nil {
		return err
	}
	for _, p := range ports {
		h, err := kernel.PublishPort(p)
		// A port picked free was let go before its rule went in, so
		// another container's pick may have taken it meanwhile: pick again.
		for try := 0; errors.Is(err, errdefs.ErrAlreadyExists) && !askedFor(r.HostConfig, p.HostPort) && try < 8; try++ {
			if p.HostPort, err = freePort(p.Proto, p.HostIP); err == nil {
				h, err = kernel.PublishPort(p)
			}
		}
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return fmt.Errorf("Bind for %s:%d failed: port is already allocated: %w", ipOrAny(p.HostIP), p.HostPort, errdefs.ErrConflict)
		}
		if err != nil {
			return err
		}
		ep.Ports = append(ep.Ports, h)
		ep.Mapped = append(ep.Mapped, portMapping{Proto: p.Proto, HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort})
		if !p.HostIP.IsValid() && p.ContainerIP6.IsValid() {
			// Every address, IPv6 too: dockerd lists the [::] binding.
			ep.Mapped = append(ep.Mapped, portMapping{Proto: p.Proto, HostIP: netip.IPv6Unspecified(), HostPort: p.HostPort, ContainerPort: p.ContainerPort})
		}
	}
	return nil
}

// detach undoes attach for one endpoint, from names and records alone;
// c.mu is held. The network goes down when it was the last endpoint.
func (c *Controller) detach(id string, n netRecord, ep *endpointRecord) error {
	c.dropName(n.ID, id)
	var errs []error
	for _, h := range ep.Ports {
		errs = append(errs, kernel.Unpublish(h))
	}
	errs = append(errs, c.deleteVeth(vethFor(id, n.ID)))
	if n.Subnet.IsValid() {
		if m, err := c.ipamOf(n); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, releaseOwned(m, id))
		}
	}
	if n.EnableIPv6 {
		if m, err := c.ipam6Of(n); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, releaseOwned(m, id))
		}
	}
	errs = append(errs, c.tearDownIfUnused(n))
	ep.IP, ep.IP6, ep.HostVeth, ep.IfName, ep.Ports, ep.Mapped = netip.Addr{}, netip.Addr{}, "", "", nil, nil
	return errors.Join(errs...)
}

// releaseOwned frees every address owner holds in m: normally the one it
// was given, or a leftover of a crash.
func releaseOwned(m *kernel.IPAM, owner string) error {
	for a, o := range m.Allocated() {
		if o == owner {
			if err := m.Release(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeNetFiles writes the container's /etc/hosts and /etc/resolv.conf,
// which the spec bind-mounts, for its addresses and primary kernel.
func (c *Controller) writeNetFiles(r Container, eps ctrEndpoints) error {
	hostname := r.ID[:12]
	if b, err := os.ReadFile(r.HostnamePath); err == nil {
		hostname = string(bytes.TrimSpace(b))
	}
	var ips []netip.Addr
	var gw, nameserver netip.Addr
	for i, ep := range eps.ordered() {
		if !ep.IP.IsValid() {
			continue
		}
		ips = append(ips, ep.IP)
		if ep.IP6.IsValid() {
			ips = append(ips, ep.IP6)
		}
		if i == 0 {
			if n, err := c.networkByID(ep.NetworkID); err == nil {
				gw = n.gateway()
				if _, ok := c.dns[n.ID]; ok {
					nameserver = gw
				}
			}
		}
	}
	h := r.HostConfig
	host, _ := os.ReadFile("/etc/resolv.conf") // none: no servers but the user's
	files := map[string][]byte{
		r.HostsPath:      hostsFile(hostname, ips, h.ExtraHosts, gw),
		r.ResolvConfPath: resolvConf(host, nameserver, h.DNS, h.DNSSearch, h.DNSOptions),
	}
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("container %s: %w", r.ID, err)
		}
	}
	return nil
}
