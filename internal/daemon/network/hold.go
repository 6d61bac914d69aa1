package network

import (
	kernel "github.com/pier-engine/pier/internal/network"
)

// Hold keeps networks up while pierd runs, as dockerd keeps its
// bridges: a network's bridge, rules and resolver then stay after its last
// container stops, and a stopping container's veth is deleted in the
// background. The kernel takes tens of milliseconds to delete a link or
// commit a rule set, so this takes most of the network's cost off each
// `run`. The returned release, called once pierd stops serving, waits for
// those deletions and takes down every network no container uses, so a
// stopped pierd leaves no trace. Without Hold each network goes as
// its last container stops.
func (c *Controller) Hold() (release func()) {
	c.mu.Lock()
	c.hold = true
	c.mu.Unlock()
	return func() {
		recs, err := c.networkRecords()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.hold = false
		c.waitDetaches("")
		if err != nil {
			c.log.Warn("release networks", "err", err)
			return
		}
		for _, n := range recs {
			if err := c.tearDown(n); err != nil {
				c.log.Warn("release networks", "network", n.Name, "err", err)
			}
		}
	}
}

// deleteVeth deletes a host veth: at once, or in the background while
// networks are held; c.mu is held.
func (c *Controller) deleteVeth(name string) error {
	if !c.hold {
		return kernel.Detach(&kernel.Endpoint{HostName: name})
	}
	for n, done := range c.detaching { // forget the finished ones
		select {
		case <-done:
			delete(c.detaching, n)
		default:
		}
	}
	done := make(chan struct{})
	c.detaching[name] = done
	go func() {
		defer close(done)
		if err := kernel.Detach(&kernel.Endpoint{HostName: name}); err != nil {
			c.log.Warn("delete veth", "veth", name, "err", err)
		}
	}()
	return nil
}

// waitDetaches waits until the background deletion of veth name, or with
// "" of every veth, has ended; c.mu is held (the deletions never take
// it).
func (c *Controller) waitDetaches(name string) {
	for n, done := range c.detaching {
		if name == "" || n == name {
			<-done
			delete(c.detaching, n)
		}
	}
}
