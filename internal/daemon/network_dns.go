package daemon

import (
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/dns"
)

// nameEntry is what one container answers to on a user network.
type nameEntry struct {
	names []string // lower-cased: name, aliases, short id
	ip    netip.Addr
}

// startResolver starts n's embedded DNS server on its gateway, port 53;
// d.nets.mu is held. On a user network it answers its running
// containers' names; the default bridge's only forwards, as dockerd's
// default network resolves no names. A resolver that cannot start leaves
// containers with the host's servers.
func (d *Daemon) startResolver(n netRecord) {
	if _, ok := d.nets.dns[n.ID]; ok {
		return
	}
	d.loadNames(n)
	names := func(string) []netip.Addr { return nil }
	if !n.predefined() {
		names = func(q string) []netip.Addr { return d.lookupName(n.ID, q) }
	}
	s, err := dns.Listen(netip.PrefixFrom(n.gateway(), n.Subnet.Bits()), 53, names, dns.HostUpstreams())
	if err != nil {
		d.log.Warn("network resolver", "network", n.Name, "err", err)
		return
	}
	if d.nets.dns == nil {
		d.nets.dns = map[string]closer{}
	}
	d.nets.dns[n.ID] = s
}

// closer is a resolver as the daemon holds it.
type closer interface{ Close() error }

// loadNames fills n's name table from the running containers' records:
// after a restart of pierd they are attached already.
func (d *Daemon) loadNames(n netRecord) {
	recs, err := d.containerRecords()
	if err != nil {
		return
	}
	for _, r := range recs {
		if r.State != container.StateRunning {
			continue
		}
		if ep, ok := d.endpointsOf(r.ID).Endpoints[n.ID]; ok && ep.IP.IsValid() {
			d.setName(n.ID, r, ep)
		}
	}
}

// setName records the names of r's endpoint ep on network netID.
func (d *Daemon) setName(netID string, r containerRecord, ep *endpointRecord) {
	e := nameEntry{ip: ep.IP}
	for _, s := range shortAliases(r, ep) {
		e.names = append(e.names, strings.ToLower(s))
	}
	d.nets.namesMu.Lock()
	defer d.nets.namesMu.Unlock()
	if d.nets.names == nil {
		d.nets.names = map[string]map[string]nameEntry{}
	}
	if d.nets.names[netID] == nil {
		d.nets.names[netID] = map[string]nameEntry{}
	}
	d.nets.names[netID][r.ID] = e
}

// dropName forgets container id's names on network netID.
func (d *Daemon) dropName(netID, id string) {
	d.nets.namesMu.Lock()
	defer d.nets.namesMu.Unlock()
	delete(d.nets.names[netID], id)
}

// lookupName is a resolver's answer for name q on network netID.
func (d *Daemon) lookupName(netID, q string) []netip.Addr {
	d.nets.namesMu.RLock()
	defer d.nets.namesMu.RUnlock()
	var out []netip.Addr
	for _, e := range d.nets.names[netID] {
		for _, n := range e.names {
			if n == q {
				out = append(out, e.ip)
				break
			}
		}
	}
	return out
}
