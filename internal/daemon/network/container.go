package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	kernel "github.com/pier-engine/pier/internal/network"
	"github.com/pier-engine/pier/internal/trace"
)

// ownNetns reports whether a container in this network mode gets a
// namespace pier wires: the default bridge and user networks. host, none
// and container:<x> are specgen's alone.
func ownNetns(m container.NetworkMode) bool {
	return !m.IsHost() && !m.IsNone() && !m.IsContainer()
}

// NetnsPath is the network namespace file the spec of container id joins
// for host's network mode; "" leaves the namespace to specgen (none, host,
// container:<x>).
func (c *Controller) NetnsPath(id string, host *container.HostConfig) string {
	if host == nil || !ownNetns(host.NetworkMode) {
		return ""
	}
	return filepath.Join(c.netnsDir(), id)
}

// AddContainer checks and records container id's endpoints at create:
// its network mode's network first (eth0), then any other network the
// request names.
func (c *Controller) AddContainer(ctx context.Context, id string, nc *apinet.NetworkingConfig, host *container.HostConfig) error {
	if !ownNetns(host.NetworkMode) {
		return nil
	}
	primary, err := c.findNetwork(string(host.NetworkMode))
	if err != nil {
		return err
	}
	if primary.Driver != driverBridge {
		return fmt.Errorf("network %s: a container joins it with --network %s only: %w", primary.Name, primary.Driver, errdefs.ErrInvalidArgument)
	}
	var settings map[string]*apinet.EndpointSettings
	if nc != nil {
		settings = nc.EndpointsConfig
	}
	eps := ctrEndpoints{Endpoints: map[string]*endpointRecord{}}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var primarySettings *apinet.EndpointSettings
	var others []netRecord
	var otherSettings []*apinet.EndpointSettings
	for _, k := range keys {
		n, err := c.findNetwork(k)
		if err != nil {
			return err
		}
		if n.ID == primary.ID {
			primarySettings = settings[k]
			continue
		}
		if n.Driver != driverBridge {
			return fmt.Errorf("container cannot be connected to network %s and %s: %w", primary.Name, n.Name, errdefs.ErrInvalidArgument)
		}
		others, otherSettings = append(others, n), append(otherSettings, settings[k])
	}
	ep, err := newEndpoint(primary, primarySettings, 0)
	if err != nil {
		return err
	}
	eps.Endpoints[primary.ID] = ep
	for i, n := range others {
		if eps.Endpoints[n.ID], err = newEndpoint(n, otherSettings[i], i+1); err != nil {
			return err
		}
	}
	return c.md.Put(endpointKind, id, &eps)
}

// newEndpoint checks the user's settings for one network, as dockerd
// does: a fixed address and aliases only on user networks, the address in
// the subnet, and pier's bandwidth options well formed.
func newEndpoint(n netRecord, es *apinet.EndpointSettings, order int) (*endpointRecord, error) {
	ep := &endpointRecord{NetworkID: n.ID, Order: order}
	if es == nil {
		return ep, nil
	}
	var err error
	if ep.Egress, ep.Ingress, err = endpointRates(es.DriverOpts); err != nil {
		return nil, err
	}
	ep.DriverOpts = es.DriverOpts
	if len(es.Aliases) > 0 && n.predefined() {
		return nil, fmt.Errorf("network-scoped alias is supported only for containers in user defined networks: %w", errdefs.ErrInvalidArgument)
	}
	ep.Aliases = es.Aliases
	ep.Links = es.Links
	if es.IPAMConfig != nil {
		ep.LinkLocalIPs = es.IPAMConfig.LinkLocalIPs
	}
	if len(es.MacAddress) > 0 {
		hw := net.HardwareAddr(es.MacAddress)
		if len(hw) != 6 || hw[0]&1 == 1 {
			return nil, fmt.Errorf("invalid MAC address %s: not a unicast Ethernet address: %w", hw, errdefs.ErrInvalidArgument)
		}
		ep.RequestedMAC = hw.String()
	}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid() {
		ip := es.IPAMConfig.IPv4Address
		if n.predefined() {
			return nil, fmt.Errorf("user specified IP address is supported on user defined networks only: %w", errdefs.ErrInvalidArgument)
		}
		if !n.Subnet.Contains(ip) || ip == n.gateway() {
			return nil, fmt.Errorf("no configured subnet or ip-range contain the IP address %s: %w", ip, errdefs.ErrInvalidArgument)
		}
		ep.RequestedIP = ip
	}
	if es.IPAMConfig != nil && es.IPAMConfig.IPv6Address.IsValid() {
		ip := es.IPAMConfig.IPv6Address
		switch {
		case n.predefined():
			return nil, fmt.Errorf("user specified IP address is supported on user defined networks only: %w", errdefs.ErrInvalidArgument)
		case !n.EnableIPv6:
			// Refused, not kept unused: the network has no IPv6.
			return nil, fmt.Errorf("IPAMConfig.IPv6Address %s: network %s does not have IPv6 enabled: %w", ip, n.Name, errdefs.ErrInvalidArgument)
		case !n.Subnet6.Contains(ip) || ip == n.gateway6():
			return nil, fmt.Errorf("no configured subnet or ip-range contain the IP address %s: %w", ip, errdefs.ErrInvalidArgument)
		}
		ep.RequestedIP6 = ip
	}
	return ep, nil
}

// StartContainer wires container r's network before its start: a new
// namespace kept by a bind mount, one veth per endpoint, published ports,
// rate limits, and /etc/hosts and resolv.conf. On failure it undoes it all.
func (c *Controller) StartContainer(ctx context.Context, r Container) (err error) {
	wire, err := c.PrepareContainer(ctx, r)
	if err != nil || !wire {
		return err
	}
	if err := c.AttachContainer(r); err != nil {
		c.StopContainer(r)
		return err
	}
	return nil
}

// PrepareContainer is StartContainer's first half, what the runtime's
// create needs: container r's namespace, kept by a bind mount. wire says
// AttachContainer has the rest to do. On failure nothing is left.
func (c *Controller) PrepareContainer(ctx context.Context, r Container) (wire bool, err error) {
	path := c.NetnsPath(r.ID, r.HostConfig)
	if path == "" {
		return false, nil
	}
	if len(c.endpointsOf(r.ID).Endpoints) == 0 {
		// Created before pier wired networks: the default bridge.
		if err := c.AddContainer(ctx, r.ID, nil, r.HostConfig); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(c.netnsDir(), 0o700); err != nil {
		return false, fmt.Errorf("container %s: %w", r.ID, err)
	}
	if err := kernel.DeleteNetns(path); err != nil {
		return false, err
	}
	if err := kernel.NewNetns(path); err != nil {
		return false, fmt.Errorf("container %s: %w", r.ID, err)
	}
	trace.Mark("pierd", "network: netns")
	return true, nil
}

// AttachContainer is StartContainer's second half, which may run while
// the container is being created in the namespace PrepareContainer made
// (not started: its command must find its interfaces up): one veth per
// endpoint, published ports, rate limits, the endpoints' record, and
// /etc/hosts and resolv.conf, written in place (the container's binds of
// them are of these inodes). On failure the caller undoes it all with
// StopContainer.
func (c *Controller) AttachContainer(r Container) error {
	path := c.NetnsPath(r.ID, r.HostConfig)
	eps := c.endpointsOf(r.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ep := range eps.ordered() {
		n, err := c.networkByID(ep.NetworkID)
		if err != nil {
			return err
		}
		if err := c.attach(r, n, ep, path, fmt.Sprintf("eth%d", i)); err != nil {
			return err
		}
	}
	trace.Mark("pierd", "network: endpoints attached")
	if err := c.recordRun(r.ID, eps); err != nil {
		return err
	}
	trace.Mark("pierd", "network: endpoints recorded")
	return c.writeNetFiles(r, eps)
}

// networkByID reads one network's record; a network removed since the
// container was created is dockerd's "network not found".
func (c *Controller) networkByID(id string) (netRecord, error) {
	var n netRecord
	if err := c.md.Get(networkKind, id, &n); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return n, fmt.Errorf("network %s not found: %w", id, errdefs.ErrNotFound)
		}
		return n, err
	}
	return n, nil
}

// StopContainer undoes StartContainer once the container has ended or failed
// to start. It works from names and records alone, so after a crash it
// cleans up whatever part was made, and calling it twice is harmless.
func (c *Controller) StopContainer(r Container) { c.stop(r, true) }

// StopRemovedContainer is StopContainer for a container removed next (a
// --rm one at its end): its endpoints' record is not rewritten, the
// removal deletes it (RemoveContainer).
func (c *Controller) StopRemovedContainer(r Container) { c.stop(r, false) }

func (c *Controller) stop(r Container, record bool) {
	path := c.NetnsPath(r.ID, r.HostConfig)
	if path == "" {
		return
	}
	eps := c.endpointsOf(r.ID)
	c.mu.Lock()
	changed := false
	for _, ep := range eps.ordered() {
		changed = changed || ep.IP.IsValid() || len(ep.Ports) > 0
		n, err := c.networkByID(ep.NetworkID)
		if err != nil {
			continue
		}
		if err := c.detach(r.ID, n, ep); err != nil {
			c.log.Warn("network stop", "container_id", r.ID, "network", n.Name, "err", err)
		}
	}
	c.mu.Unlock()
	trace.Mark("pierd", "network stop: detached")
	if err := kernel.DeleteNetns(path); err != nil {
		c.log.Warn("network stop", "container_id", r.ID, "err", err)
	}
	trace.Mark("pierd", "network stop: netns deleted")
	if changed && record {
		var cur ctrEndpoints
		err := c.md.UpdateOrdered(endpointKind, r.ID, &cur, func() error { cur = eps; return nil })
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			c.log.Warn("network stop", "container_id", r.ID, "err", err)
		}
	}
}

// recordRun records what a start attached (addresses, veths, ports).
// They describe a live run, which a host crash ends anyway, so the write
// is ordered, not durable (one fsync, not two): after a crash the record
// is this one or the one before, whole, and the next start redoes it.
// The addresses themselves are the IPAM's, written durably.
func (c *Controller) recordRun(id string, eps ctrEndpoints) error {
	var cur ctrEndpoints
	err := c.md.UpdateOrdered(endpointKind, id, &cur, func() error { cur = eps; return nil })
	if errors.Is(err, errdefs.ErrNotFound) {
		return c.md.Put(endpointKind, id, &eps)
	}
	return err
}

// RemoveContainer forgets container id's endpoints, once it is removed.
// Nothing lists endpoint records, each is read by its container's id
// only: one back after a host crash, its container gone, is never read,
// so the deletion need not be durable.
func (c *Controller) RemoveContainer(id string) {
	if err := c.md.DeleteLazy(endpointKind, id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		c.log.Warn("network remove", "container_id", id, "err", err)
	}
}

// shortAliases are the names a container answers to on a user network:
// its name, its aliases and its short id.
func shortAliases(r Container, ep *endpointRecord) []string {
	names := []string{r.Name}
	names = append(names, ep.Aliases...)
	names = append(names, r.ID[:12])
	return slices.Compact(names)
}
