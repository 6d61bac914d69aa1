package daemon

import (
	"github.com/pier-engine/pier/internal/network"
)

// HoldNetworks keeps networks up while pierd runs, as dockerd keeps its
// bridges: a network's bridge, rules and resolver then stay after its last
// container stops, and a stopping container's veth is deleted in the
// background. The kernel takes tens of milliseconds to delete a link or
// commit a rule set, so this takes most of the network's cost off each
// `run`. The returned release, called once pierd stops serving, waits for
// those deletions and takes down every network no container uses, so a
// stopped pierd leaves no trace. Without HoldNetworks each network goes as
// its last container stops.
func (d *Daemon) HoldNetworks() (release func()) {
	d.nets.mu.Lock()
	d.nets.hold = true
	d.nets.mu.Unlock()
	return func() {
		recs, err := d.networkRecords()
		d.nets.mu.Lock()
		defer d.nets.mu.Unlock()
		d.nets.hold = false
		d.waitDetaches("")
		if err != nil {
			d.log.Warn("release networks", "err", err)
			return
		}
		for _, n := range recs {
			if err := d.tearDown(n); err != nil {
				d.log.Warn("release networks", "network", n.Name, "err", err)
			}
		}
	}
}

// deleteVeth deletes a host veth: at once, or in the background while
// networks are held; d.nets.mu is held.
func (d *Daemon) deleteVeth(name string) error {
	if !d.nets.hold {
		return network.Detach(&network.Endpoint{HostName: name})
	}
	for n, done := range d.nets.detaching { // forget the finished ones
		select {
		case <-done:
			delete(d.nets.detaching, n)
		default:
		}
	}
	if d.nets.detaching == nil {
		d.nets.detaching = map[string]chan struct{}{}
	}
	done := make(chan struct{})
	d.nets.detaching[name] = done
	go func() {
		defer close(done)
		if err := network.Detach(&network.Endpoint{HostName: name}); err != nil {
			d.log.Warn("delete veth", "veth", name, "err", err)
		}
	}()
	return nil
}

// waitDetaches waits until the background deletion of veth name, or with
// "" of every veth, has ended; d.nets.mu is held (the deletions never take
// it).
func (d *Daemon) waitDetaches(name string) {
	for n, done := range d.nets.detaching {
		if name == "" || n == name {
			<-done
			delete(d.nets.detaching, n)
		}
	}
}
