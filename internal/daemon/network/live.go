package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/moby/moby/api/types/container"

	kernel "github.com/pier-engine/pier/internal/network"
)

// ipamPath is the file of network id's address allocations.
func (c *Controller) ipamPath(id string) string {
	return filepath.Join(c.root, "network", "ipam", id+".json")
}

// netnsDir holds the bind mounts that keep containers' namespaces.
func (c *Controller) netnsDir() string { return filepath.Join(c.root, "netns") }

// ipamOf opens a network's allocator once; c.mu is held.
func (c *Controller) ipamOf(n netRecord) (*kernel.IPAM, error) {
	return c.openIPAM(n, n.ID, n.pool())
}

// ipam6Of is ipamOf for the network's IPv6 subnet.
func (c *Controller) ipam6Of(n netRecord) (*kernel.IPAM, error) {
	return c.openIPAM(n, ipam6Key(n.ID), n.pool6())
}

// ipam6Key names a network's IPv6 allocator, in c.ipams and on disk.
func ipam6Key(id string) string { return id + "-v6" }

func (c *Controller) openIPAM(n netRecord, key string, p kernel.Pool) (*kernel.IPAM, error) {
	if m, ok := c.ipams[key]; ok {
		return m, nil
	}
	dir := filepath.Dir(c.ipamPath(key))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	m, err := kernel.OpenIPAMPool(dir, key, p)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	c.ipams[key] = m
	return m, nil
}

// bringUp makes n's bridge, NAT, isolation from every other bridge that is
// up, and resolver exist; c.mu is held. It is idempotent and cheap
// when the bridge is up already.
func (c *Controller) bringUp(np *netRecord) (*kernel.Bridge, error) {
	n := *np
	if c.up[n.ID] {
		if mtu, ok := kernel.LinkMTU(n.Bridge); ok {
			br := &kernel.Bridge{Name: n.Bridge, Subnet: n.Subnet, Gateway: n.gateway(), MTU: mtu}
			if n.EnableIPv6 {
				br.Subnet6, br.Gateway6 = n.Subnet6, n.gateway6()
			}
			return br, nil
		}
	}
	n, err := c.moveSubnet(n)
	if err != nil {
		return nil, err
	}
	*np = n
	br, err := kernel.EnsureBridgeGateway(n.Bridge, n.Subnet, n.gateway(), kernel.HostMTU())
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	if !n.Internal {
		if err := kernel.EnsureNAT(n.Subnet, n.Bridge); err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	if err := bringUp6(n, br); err != nil {
		return nil, err
	}
	recs, err := c.readNetworks()
	if err != nil {
		return nil, err
	}
	for _, o := range recs {
		if o.ID == n.ID || o.Bridge == "" {
			continue
		}
		if !kernel.LinkExists(o.Bridge) {
			continue // down: its own bring-up isolates it
		}
		if err := kernel.Isolate(n.Bridge, o.Bridge); err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
		if n.EnableIPv6 && o.EnableIPv6 {
			if err := kernel.Isolate6(n.Bridge, o.Bridge); err != nil {
				return nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
		}
	}
	c.startResolver(n)
	c.up[n.ID] = true
	return br, nil
}

// bringUp6 gives a dual-stack network's bridge its IPv6 gateway and,
// unless the network is internal, its rules in the ip6 table.
func bringUp6(n netRecord, br *kernel.Bridge) error {
	if !n.EnableIPv6 {
		return nil
	}
	if err := kernel.EnsureBridge6(br, n.Subnet6, n.gateway6()); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if n.Internal {
		return nil
	}
	if err := kernel.EnsureNAT6(n.Subnet6, n.Bridge); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}

// moveSubnet gives a network whose bridge is down, and whose subnet pier
// picked, a free subnet when a host route (another daemon's bridge, a VPN)
// overlaps it now; c.mu is held. With no bridge there is no
// container on it, so no address is in use.
func (c *Controller) moveSubnet(n netRecord) (netRecord, error) {
	if !n.AutoSubnet {
		return n, nil
	}
	if kernel.LinkExists(n.Bridge) {
		return n, nil
	}
	routes, err := kernel.HostRoutes()
	if err != nil {
		return n, err
	}
	if !slices.ContainsFunc(routes, func(r netip.Prefix) bool { return r.Bits() > 0 && r.Overlaps(n.Subnet) }) {
		return n, nil
	}
	recs, err := c.readNetworks()
	if err != nil {
		return n, err
	}
	sub, err := c.freeSubnet(recs)
	if err != nil {
		return n, err
	}
	if err := os.Remove(c.ipamPath(n.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, fmt.Errorf("network %s: %w", n.Name, err)
	}
	delete(c.ipams, n.ID)
	err = c.md.Update(networkKind, n.ID, &n, func() error { n.Subnet = sub; return nil })
	return n, err
}

// tearDownIfUnused removes n's bridge, rules and resolver once no
// endpoint is attached to it, and pier's table once it is empty, unless
// networks are held; c.mu is held.
func (c *Controller) tearDownIfUnused(n netRecord) error {
	if n.Bridge == "" || c.hold {
		return nil
	}
	return c.tearDown(n)
}

// tearDown is tearDownIfUnused, held or not.
func (c *Controller) tearDown(n netRecord) error {
	if n.Bridge == "" {
		return nil
	}
	used, err := kernel.BridgeInUse(n.Bridge)
	if err != nil || used {
		return err
	}
	c.stopResolver(n.ID)
	delete(c.up, n.ID)
	if !kernel.LinkExists(n.Bridge) {
		// Never up, or gone with its rules: the bridge goes last.
		return nil
	}
	var errs []error
	errs = append(errs, kernel.RemoveBridgeRules(n.Bridge))
	errs = append(errs, kernel.DeleteBridge(n.Bridge))
	errs = append(errs, kernel.DeleteTableIfEmpty())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network %s: tear down: %w", n.Name, err)
	}
	return nil
}

func (c *Controller) stopResolver(netID string) {
	if s, ok := c.dns[netID]; ok {
		_ = s.Close()
		delete(c.dns, netID)
	}
}

// Restore settles the networks after pierd starts: one whose bridge still
// carries containers (they ran through a restart of pierd) gets its rules,
// isolation and resolver back; a bridge left without any, after a crash,
// goes.
func (c *Controller) Restore() {
	recs, err := c.networkRecords()
	if err != nil {
		c.log.Warn("network restore", "err", err)
		return
	}
	c.sweepNetns()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range recs {
		if n.Bridge == "" {
			continue
		}
		used, err := kernel.BridgeInUse(n.Bridge)
		if err == nil && used {
			_, err = c.bringUp(&n)
		} else if err == nil {
			err = c.tearDownIfUnused(n)
		}
		if err != nil {
			c.log.Warn("network restore", "network", n.Name, "err", err)
		}
	}
}

// sweepNetns undoes the network of every namespace file whose container
// does not run: what a crash of pierd in the middle of a start left.
func (c *Controller) sweepNetns() {
	ents, err := os.ReadDir(c.netnsDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		r, err := c.containers.Get(e.Name())
		switch {
		case err == nil && (r.State == container.StateRunning || r.State == container.StatePaused):
			continue
		case err == nil:
			c.StopContainer(r)
		default:
			if err := kernel.DeleteNetns(filepath.Join(c.netnsDir(), e.Name())); err != nil {
				c.log.Warn("network restore", "container_id", e.Name(), "err", err)
			}
		}
	}
}
