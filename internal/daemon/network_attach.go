package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/network"
)

// vethFor is the host side of container id's veth on network netID: a
// name that depends on both alone, so clean-up after a crash finds it
// without any record.
func vethFor(id, netID string) string { return network.VethName("n" + netID + id) }

// attach connects the namespace at path to n as ifname and records what
// it made in ep; d.nets.mu is held. The first interface also gets the
// container's published ports.
func (d *Daemon) attach(r containerRecord, n netRecord, ep *endpointRecord, path, ifname string) error {
	br, err := d.bringUp(&n)
	if err != nil {
		return err
	}
	m, err := d.ipamOf(n)
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
	ep.IP, ep.HostVeth, ep.IfName = ip, vethFor(r.ID, n.ID), ifname
	d.waitDetaches(ep.HostVeth)
	if err := network.Detach(&network.Endpoint{HostName: ep.HostVeth}); err != nil {
		return err
	}
	_, err = network.AttachConfig(network.EndpointConfig{
		NetnsPath: path, Bridge: br, IP: ip, IfName: ifname, HostName: ep.HostVeth, MAC: ep.mac(),
		NoDefaultRoute: ifname != "eth0",
	})
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if ep.Egress > 0 || ep.Ingress > 0 {
		if err := network.Limit(ep.HostVeth, ep.Egress, ep.Ingress); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	if !n.predefined() {
		d.setName(n.ID, r, ep)
	}
	if ifname == "eth0" {
		return d.publish(r, ep)
	}
	return nil
}

// publish makes r's -p and -P ports lead to ep's address.
func (d *Daemon) publish(r containerRecord, ep *endpointRecord) error {
	if len(r.HostConfig.PortBindings) == 0 && !r.HostConfig.PublishAllPorts {
		return nil
	}
	var exposed []apiPort
	if r.HostConfig.PublishAllPorts {
		exposed = d.exposedPorts(r)
	}
	ports, err := portPlan(r.HostConfig, exposed, ep.IP)
	if err != nil {
		return err
	}
	for _, p := range ports {
		h, err := network.PublishPort(p)
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return fmt.Errorf("Bind for %s:%d failed: port is already allocated: %w", ipOrAny(p.HostIP), p.HostPort, errdefs.ErrConflict)
		}
		if err != nil {
			return err
		}
		ep.Ports = append(ep.Ports, h)
		ep.Mapped = append(ep.Mapped, portMapping{Proto: p.Proto, HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort})
	}
	return nil
}

// detach undoes attach for one endpoint, from names and records alone;
// d.nets.mu is held. The network goes down when it was the last endpoint.
func (d *Daemon) detach(id string, n netRecord, ep *endpointRecord) error {
	d.dropName(n.ID, id)
	var errs []error
	for _, h := range ep.Ports {
		errs = append(errs, network.Unpublish(h))
	}
	errs = append(errs, d.deleteVeth(vethFor(id, n.ID)))
	if n.Subnet.IsValid() {
		if m, err := d.ipamOf(n); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, releaseOwned(m, id))
		}
	}
	errs = append(errs, d.tearDownIfUnused(n))
	ep.IP, ep.HostVeth, ep.IfName, ep.Ports, ep.Mapped = netip.Addr{}, "", "", nil, nil
	return errors.Join(errs...)
}

// releaseOwned frees every address owner holds in m: normally the one it
// was given, or a leftover of a crash.
func releaseOwned(m *network.IPAM, owner string) error {
	for a, o := range m.Allocated() {
		if o == owner {
			if err := m.Release(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func newNetns(path string) error { return network.NewNetns(path) }

func (d *Daemon) removeNetns(path string) error { return network.DeleteNetns(path) }

// writeNetFiles writes the container's /etc/hosts and /etc/resolv.conf,
// which the spec bind-mounts, for its addresses and primary network.
func (d *Daemon) writeNetFiles(r containerRecord, eps ctrEndpoints) error {
	p := d.paths(r.ID)
	hostname := r.ID[:12]
	if b, err := os.ReadFile(p.hostname); err == nil {
		hostname = string(bytes.TrimSpace(b))
	}
	var ips []netip.Addr
	var gw, nameserver netip.Addr
	for i, ep := range eps.ordered() {
		if !ep.IP.IsValid() {
			continue
		}
		ips = append(ips, ep.IP)
		if i == 0 {
			if n, err := d.networkByID(ep.NetworkID); err == nil {
				gw = n.gateway()
				if _, ok := d.nets.dns[n.ID]; ok {
					nameserver = gw
				}
			}
		}
	}
	h := r.HostConfig
	host, _ := os.ReadFile("/etc/resolv.conf") // none: no servers but the user's
	files := map[string][]byte{
		p.hosts:      hostsFile(hostname, ips, h.ExtraHosts, gw),
		p.resolvConf: resolvConf(host, nameserver, h.DNS, h.DNSSearch, h.DNSOptions),
	}
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("container %s: %w", r.ID, err)
		}
	}
	return nil
}
