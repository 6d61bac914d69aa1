package network

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// emitNetwork publishes a network event; extra are key/value pairs.
func (c *Controller) emitNetwork(n netRecord, action events.Action, extra ...string) {
	if c.events == nil {
		return
	}
	attrs := map[string]string{"name": n.Name, "type": n.Driver}
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i]] = extra[i+1]
	}
	c.events.Publish(events.Message{Type: events.NetworkEventType, Action: action, Actor: events.Actor{ID: n.ID, Attributes: attrs}})
}

// NetworkConnect attaches a container to a network: at once, as its next
// interface, when it runs; at its next start otherwise.
func (c *Controller) NetworkConnect(ctx context.Context, ref string, req apinet.ConnectRequest) error {
	n, r, unlock, err := c.lockMember(ref, req.Container)
	if err != nil {
		return err
	}
	defer unlock()
	if !ownNetns(r.HostConfig.NetworkMode) || n.Driver != driverBridge {
		return fmt.Errorf("container sharing network namespace with another container or host cannot be connected to any other network: %w", errdefs.ErrConflict)
	}
	eps := c.endpointsOf(r.ID)
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
		if err := c.connectRunning(r, n, ep, eps); err != nil {
			return err
		}
	}
	return c.saveMembership(r, n, eps, "connect")
}

// connectRunning attaches a running container's namespace to n under the
// first free eth<N>.
func (c *Controller) connectRunning(r Container, n netRecord, ep *endpointRecord, eps ctrEndpoints) error {
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.attach(r, n, ep, c.NetnsPath(r.ID, r.HostConfig), ifname); err != nil {
		_ = c.detach(r.ID, n, ep)
		return err
	}
	return nil
}

// NetworkDisconnect detaches a container from a network, at once when it
// runs.
func (c *Controller) NetworkDisconnect(ctx context.Context, ref string, req apinet.DisconnectRequest) error {
	n, r, unlock, err := c.lockMember(ref, req.Container)
	if err != nil {
		return err
	}
	defer unlock()
	eps := c.endpointsOf(r.ID)
	ep, ok := eps.Endpoints[n.ID]
	if !ok {
		return fmt.Errorf("container %s is not connected to network %s: %w", r.ID[:12], n.Name, errdefs.ErrConflict)
	}
	if r.State == container.StateRunning {
		c.mu.Lock()
		err := c.detach(r.ID, n, ep)
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
	delete(eps.Endpoints, n.ID)
	return c.saveMembership(r, n, eps, "disconnect")
}

// lockMember finds the network ref and locks the container ctr, for a
// change of its membership; unlock releases the container.
func (c *Controller) lockMember(ref, ctr string) (n netRecord, r Container, unlock func(), err error) {
	if n, err = c.findNetwork(ref); err != nil {
		return n, r, nil, err
	}
	r, unlock, err = c.containers.Lock(ctr)
	return n, r, unlock, err
}

// saveMembership stores r's endpoints after a connect or disconnect (the
// action), brings its files up to date and announces it.
func (c *Controller) saveMembership(r Container, n netRecord, eps ctrEndpoints, action events.Action) error {
	if err := c.md.Put(endpointKind, r.ID, &eps); err != nil {
		return err
	}
	if err := c.rewriteNetFiles(r, eps); err != nil {
		return err
	}
	c.emitNetwork(n, action, "container", r.ID)
	return nil
}

// rewriteNetFiles brings a running container's /etc/hosts and resolv.conf
// up to date with its endpoints. They are bind mounts of files pierd
// rewrites in place, so the container sees the change at once.
func (c *Controller) rewriteNetFiles(r Container, eps ctrEndpoints) error {
	if r.State != container.StateRunning {
		return nil // written at the next start
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeNetFiles(r, eps)
}
