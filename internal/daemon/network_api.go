package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/filter"
)

// bridgeNameOption is Docker's option naming a network's bridge.
const bridgeNameOption = "com.docker.network.bridge.name"

// NetworkList returns the networks filters select (name, id, label,
// driver, type custom|builtin), sorted by name.
func (d *Daemon) NetworkList(ctx context.Context, filters map[string][]string) ([]network.Summary, error) {
	for k := range filters {
		switch k {
		case "name", "id", "label", "driver", "type", "scope":
		default:
			return nil, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalidArgument)
		}
	}
	recs, err := d.networkRecords()
	if err != nil {
		return nil, err
	}
	out := []network.Summary{}
	for _, n := range recs {
		if networkMatches(n, filters) {
			out = append(out, network.Summary{Network: n.toAPI()})
		}
	}
	return out, nil
}

func networkMatches(n netRecord, filters map[string][]string) bool {
	anyOf := func(key string, ok func(v string) bool) bool { return filter.Any(filters[key], ok) }
	typ := "custom"
	if n.predefined() {
		typ = "builtin"
	}
	return anyOf("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		anyOf("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		anyOf("driver", func(v string) bool { return n.Driver == v }) &&
		anyOf("type", func(v string) bool { return v == typ }) &&
		anyOf("scope", func(v string) bool { return v == "local" }) &&
		anyOf("label", func(v string) bool { return filter.Label(n.Labels, v) })
}

// toAPI is the wire form of a network, without its containers.
func (n netRecord) toAPI() network.Network {
	api := network.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		EnableIPv4: n.Driver == driverBridge, Internal: n.Internal,
		IPAM:    network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
		Options: maps.Clone(n.Options), Labels: maps.Clone(n.Labels),
	}
	if api.Options == nil {
		api.Options = map[string]string{}
	}
	if api.Labels == nil {
		api.Labels = map[string]string{}
	}
	if n.Subnet.IsValid() {
		api.IPAM.Config = append(api.IPAM.Config, network.IPAMConfig{Subnet: n.Subnet, Gateway: n.gateway()})
		api.Options[bridgeNameOption] = n.Bridge
	}
	return api
}

// NetworkInspect returns a network and its running containers' endpoints.
func (d *Daemon) NetworkInspect(ctx context.Context, ref string) (network.Inspect, error) {
	n, err := d.findNetwork(ref)
	if err != nil {
		return network.Inspect{}, err
	}
	out := network.Inspect{Network: n.toAPI(), Containers: map[string]network.EndpointResource{}}
	recs, err := d.containerRecords()
	if err != nil {
		return network.Inspect{}, err
	}
	for _, r := range recs {
		if r.State != container.StateRunning {
			continue
		}
		ep, ok := d.endpointsOf(r.ID).Endpoints[n.ID]
		if !ok || !ep.IP.IsValid() {
			continue
		}
		out.Containers[r.ID] = network.EndpointResource{
			Name: r.Name, EndpointID: ep.HostVeth, MacAddress: network.HardwareAddr(ep.mac()),
			IPv4Address: netip.PrefixFrom(ep.IP, n.Subnet.Bits()),
		}
	}
	return out, nil
}

// NetworkCreate makes a bridge network: its own bridge and subnet (the
// one asked for, or a free /16), isolated from every other network.
func (d *Daemon) NetworkCreate(ctx context.Context, req network.CreateRequest) (network.CreateResponse, error) {
	n, err := d.newNetworkRecord(req)
	if err != nil {
		return network.CreateResponse{}, err
	}
	d.nets.mu.Lock()
	defer d.nets.mu.Unlock()
	recs, err := d.networkRecords()
	if err != nil {
		return network.CreateResponse{}, err
	}
	for _, o := range recs {
		if o.Name == n.Name {
			return network.CreateResponse{}, fmt.Errorf("network with name %s already exists: %w", n.Name, errdefs.ErrConflict)
		}
		if o.Bridge != "" && o.Bridge == n.Bridge {
			return network.CreateResponse{}, fmt.Errorf("bridge %s is used by network %s: %w", n.Bridge, o.Name, errdefs.ErrConflict)
		}
		if o.Subnet.IsValid() && n.Subnet.IsValid() && o.Subnet.Overlaps(n.Subnet) {
			return network.CreateResponse{}, fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space: %w", errdefs.ErrConflict)
		}
	}
	if !n.Subnet.IsValid() {
		n.AutoSubnet = true
		if n.Subnet, err = d.freeSubnet(recs); err != nil {
			return network.CreateResponse{}, err
		}
	}
	if err := d.md.Create(networkKind, n.ID, &n); err != nil {
		return network.CreateResponse{}, err
	}
	d.emitNetwork(n, "create")
	return network.CreateResponse{ID: n.ID}, nil
}

// newNetworkRecord checks a create request and makes its record, subnet
// still to pick when none was asked for.
func (d *Daemon) newNetworkRecord(req network.CreateRequest) (netRecord, error) {
	if req.Name == "" {
		return netRecord{}, fmt.Errorf("network name is required: %w", errdefs.ErrInvalidArgument)
	}
	if !validName.MatchString(req.Name) && len(req.Name) != 1 {
		return netRecord{}, fmt.Errorf("invalid network name %q: %w", req.Name, errdefs.ErrInvalidArgument)
	}
	switch req.Name {
	case "bridge", "host", "none", "default":
		return netRecord{}, fmt.Errorf("%s is a pre-defined network and cannot be created: %w", req.Name, errdefs.ErrConflict)
	}
	if req.Driver != "" && req.Driver != driverBridge {
		return netRecord{}, fmt.Errorf("plugin %q not found: driver %s: %w", req.Driver, req.Driver, errdefs.ErrNotImplemented)
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return netRecord{}, fmt.Errorf("IPv6 networks: %w", errdefs.ErrNotImplemented)
	}
	id := newNetworkID()
	n := netRecord{
		ID: id, Name: req.Name, Driver: driverBridge, Bridge: "pier-" + id[:10], Internal: req.Internal,
		Labels: req.Labels, Options: req.Options, Created: time.Now().UTC(),
	}
	if b := req.Options[bridgeNameOption]; b != "" {
		n.Bridge = b
	}
	if req.IPAM != nil {
		for _, c := range req.IPAM.Config {
			if !c.Subnet.Addr().Is4() {
				return netRecord{}, fmt.Errorf("subnet %s: IPv6 networks: %w", c.Subnet, errdefs.ErrNotImplemented)
			}
			if n.Subnet.IsValid() {
				return netRecord{}, fmt.Errorf("more than one IPv4 subnet: %w", errdefs.ErrNotImplemented)
			}
			if c.Subnet.Masked() != c.Subnet || c.Subnet.Bits() > 30 {
				return netRecord{}, fmt.Errorf("invalid subnet %s: want a network address with room for containers: %w", c.Subnet, errdefs.ErrInvalidArgument)
			}
			n.Subnet = c.Subnet
			if c.Gateway.IsValid() && c.Gateway != n.gateway() {
				return netRecord{}, fmt.Errorf("gateway %s: pier's gateway is the subnet's first address, %s: %w", c.Gateway, n.gateway(), errdefs.ErrNotImplemented)
			}
			if c.IPRange.IsValid() {
				return netRecord{}, fmt.Errorf("ip-range: %w", errdefs.ErrNotImplemented)
			}
		}
	}
	return n, nil
}

// NetworkRemove deletes a user network no running container is attached
// to; stopped containers that named it fail to start, as with dockerd.
func (d *Daemon) NetworkRemove(ctx context.Context, ref string) error {
	n, err := d.findNetwork(ref)
	if err != nil {
		return err
	}
	if n.predefined() {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", n.Name, errdefs.ErrConflict)
	}
	d.nets.mu.Lock()
	defer d.nets.mu.Unlock()
	if users, err := d.networkUsers(n.ID, true); err != nil {
		return err
	} else if len(users) > 0 {
		return fmt.Errorf("error while removing network: network %s has active endpoints (name:%q id:%q): %w", n.Name, users[0].Name, users[0].ID[:12], errdefs.ErrConflict)
	}
	d.waitDetaches("")
	if err := d.tearDown(n); err != nil {
		return err
	}
	delete(d.nets.ipams, n.ID)
	if err := os.Remove(d.ipamPath(n.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := d.md.Delete(networkKind, n.ID); err != nil {
		return err
	}
	d.emitNetwork(n, "destroy")
	return nil
}

// networkUsers lists the containers with an endpoint on network id; with
// running, only those that run.
func (d *Daemon) networkUsers(id string, running bool) ([]containerRecord, error) {
	recs, err := d.containerRecords()
	if err != nil {
		return nil, err
	}
	var out []containerRecord
	for _, r := range recs {
		if running && r.State != container.StateRunning {
			continue
		}
		if _, ok := d.endpointsOf(r.ID).Endpoints[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// NetworkPrune removes the user networks no container uses.
func (d *Daemon) NetworkPrune(ctx context.Context, filters map[string][]string) (network.PruneReport, error) {
	for k := range filters {
		if k != "label" {
			return network.PruneReport{}, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalidArgument)
		}
	}
	recs, err := d.networkRecords()
	if err != nil {
		return network.PruneReport{}, err
	}
	report := network.PruneReport{NetworksDeleted: []string{}}
	for _, n := range recs {
		if n.predefined() || !networkMatches(n, filters) {
			continue
		}
		if users, err := d.networkUsers(n.ID, false); err != nil || len(users) > 0 {
			continue
		}
		if err := d.NetworkRemove(ctx, n.ID); err != nil {
			continue // raced with a new user
		}
		report.NetworksDeleted = append(report.NetworksDeleted, n.Name)
	}
	return report, nil
}
