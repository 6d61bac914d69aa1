package network

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/dns"
)

// startResolver starts n's embedded DNS server on its gateway, port 53;
// c.mu is held. On a user network it answers its running
// containers' names; the default bridge's only forwards, as dockerd's
// default network resolves no names. A resolver that cannot start leaves
// containers with the host's servers.
func (c *Controller) startResolver(n netRecord) {
	if _, ok := c.dns[n.ID]; ok {
		return
	}
	c.loadNames(n)
	names := func(string) []netip.Addr { return nil }
	if !n.predefined() {
		names = func(q string) []netip.Addr { return c.lookupName(n.ID, q) }
	}
	s, err := dns.Listen(netip.PrefixFrom(n.gateway(), n.Subnet.Bits()), 53, names, dns.HostUpstreams())
	if err != nil {
		c.log.Warn("network resolver", "network", n.Name, "err", err)
		return
	}
	c.dns[n.ID] = s
}

// loadNames fills n's name table from the running containers' records:
// after a restart of pierd they are attached already.
func (c *Controller) loadNames(n netRecord) {
	recs, err := c.containers.List()
	if err != nil {
		return
	}
	for _, r := range recs {
		if r.State != container.StateRunning {
			continue
		}
		if ep, ok := c.endpointsOf(r.ID).Endpoints[n.ID]; ok && ep.IP.IsValid() {
			c.setName(n.ID, r, ep)
		}
	}
}

// setName records the names of r's endpoint ep on network netID.
func (c *Controller) setName(netID string, r Container, ep *endpointRecord) {
	e := nameEntry{ip: ep.IP, ip6: ep.IP6}
	for _, s := range shortAliases(r, ep) {
		e.names = append(e.names, strings.ToLower(s))
	}
	links := linkNames(ep)
	c.namesMu.Lock()
	defer c.namesMu.Unlock()
	if c.names[netID] == nil {
		c.names[netID] = map[string]nameEntry{}
	}
	c.names[netID][r.ID] = e
	for alias, le := range links {
		c.names[netID][linkKey(r.ID, alias)] = le
	}
}

// linkKey is the name-table key of container id's link alias.
func linkKey(id, alias string) string { return "link:" + id + ":" + alias }

// linkNames are the endpoint's legacy Links ("name:alias") as names on
// the network: the alias answers the linked container's address there,
// looked up when asked. dockerd scopes the alias to the linking
// container; pier's resolver answers it network-wide.
func linkNames(ep *endpointRecord) map[string]nameEntry {
	out := map[string]nameEntry{}
	for _, l := range ep.Links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		name, alias = strings.TrimPrefix(name, "/"), strings.TrimPrefix(alias, "/")
		out[alias] = nameEntry{names: []string{strings.ToLower(alias)}, linkTo: strings.ToLower(name)}
	}
	return out
}

// dropName forgets container id's names on network netID.
func (c *Controller) dropName(netID, id string) {
	c.namesMu.Lock()
	defer c.namesMu.Unlock()
	delete(c.names[netID], id)
	for k := range c.names[netID] {
		if strings.HasPrefix(k, "link:"+id+":") {
			delete(c.names[netID], k)
		}
	}
}

// lookupName is a resolver's answer for name q on network netID.
func (c *Controller) lookupName(netID, q string) []netip.Addr {
	c.namesMu.RLock()
	defer c.namesMu.RUnlock()
	var out []netip.Addr
	for _, e := range c.names[netID] {
		if !slices.Contains(e.names, q) {
			continue
		}
		if e.linkTo == "" {
			out = append(out, e.addrs()...)
			continue
		}
		for _, t := range c.names[netID] {
			if t.linkTo == "" && slices.Contains(t.names, e.linkTo) {
				out = append(out, t.addrs()...)
			}
		}
	}
	return out
}
