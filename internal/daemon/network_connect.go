package daemon

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// emitNetwork publishes a network event; extra are key/value pairs.
func (d *Daemon) emitNetwork(n netRecord, action events.Action, extra ...string) {
	attrs := map[string]string{"name": n.Name, "type": n.Driver}
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i]] = extra[i+1]
	}
	d.emit(events.NetworkEventType, action, n.ID, attrs)
}

// NetworkConnect attaches a container to a network: at once, as its next
// interface, when it runs; at its next start otherwise.
func (d *Daemon) NetworkConnect(ctx context.Context, ref string, req network.ConnectRequest) error {
	n, err := d.findNetwork(ref)
	if err != nil {
		return err
	}
	r, unlock, err := d.lookupLocked(req.Container)
	if err != nil {
		return err
	}
	defer unlock()
	if !ownNetns(r.HostConfig.NetworkMode) || n.Driver != driverBridge {
		return fmt.Errorf("container sharing network namespace with another container or host cannot be connected to any other network: %w", errdefs.ErrConflict)
	}
	eps := d.endpointsOf(r.ID)
	if _, ok := eps.Endpoints[n.ID]; ok {
		return fmt.Errorf("endpoint with name %s already exists in network %s: %w", r.Name, n.Name, errdefs.ErrConflict)
	}
	order := 0
	for _, e := range eps.Endpoints {
		order = max(order, e.Order+1)
	}
	ep, err := newEndpoint(n, req.EndpointConfig, order)
	if err != nil {
		return err
	}
	eps.Endpoints[n.ID] = ep
	if r.State == container.StateRunning {
		if err := d.connectRunning(r, n, ep, eps); err != nil {
			return err
		}
	}
	if err := d.md.Put(endpointKind, r.ID, &eps); err != nil {
		return err
	}
	if err := d.rewriteNetFiles(r, eps); err != nil {
		return err
	}
	d.emitNetwork(n, "connect", "container", r.ID)
	return nil
}

// connectRunning attaches a running container's namespace to n under the
// first free eth<N>.
func (d *Daemon) connectRunning(r containerRecord, n netRecord, ep *endpointRecord, eps ctrEndpoints) error {
	used := map[string]bool{}
	for _, e := range eps.Endpoints {
		used[e.IfName] = true
	}
	ifname := ""
	for i := 0; ifname == ""; i++ {
		if name := fmt.Sprintf("eth%d", i); !used[name] {
			ifname = name
		}
	}
	d.nets.mu.Lock()
	defer d.nets.mu.Unlock()
	if err := d.attach(r, n, ep, d.netnsPath(r.ID, r.HostConfig), ifname); err != nil {
		_ = d.detach(r.ID, n, ep)
		return err
	}
	return nil
}

// NetworkDisconnect detaches a container from a network, at once when it
// runs.
func (d *Daemon) NetworkDisconnect(ctx context.Context, ref string, req network.DisconnectRequest) error {
	n, err := d.findNetwork(ref)
	if err != nil {
		return err
	}
	r, unlock, err := d.lookupLocked(req.Container)
	if err != nil {
		return err
	}
	defer unlock()
	eps := d.endpointsOf(r.ID)
	ep, ok := eps.Endpoints[n.ID]
	if !ok {
		return fmt.Errorf("container %s is not connected to network %s: %w", r.ID[:12], n.Name, errdefs.ErrConflict)
	}
	if r.State == container.StateRunning {
		d.nets.mu.Lock()
		err := d.detach(r.ID, n, ep)
		d.nets.mu.Unlock()
		if err != nil {
			return err
		}
	}
	delete(eps.Endpoints, n.ID)
	if err := d.md.Put(endpointKind, r.ID, &eps); err != nil {
		return err
	}
	if err := d.rewriteNetFiles(r, eps); err != nil {
		return err
	}
	d.emitNetwork(n, "disconnect", "container", r.ID)
	return nil
}

// rewriteNetFiles brings a running container's /etc/hosts and resolv.conf
// up to date with its endpoints. They are bind mounts of files pierd
// rewrites in place, so the container sees the change at once.
func (d *Daemon) rewriteNetFiles(r containerRecord, eps ctrEndpoints) error {
	if r.State != container.StateRunning {
		return nil // written at the next start
	}
	d.nets.mu.Lock()
	defer d.nets.mu.Unlock()
	return d.writeNetFiles(r, eps)
}
