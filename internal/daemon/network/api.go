package network

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
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/filter"
	kernel "github.com/pier-engine/pier/internal/network"
)

// bridgeNameOption is Docker's option naming a network's bridge.
const bridgeNameOption = "com.docker.network.bridge.name"

// NetworkList returns the networks filters select (name, id, label,
// driver, type custom|builtin), sorted by name.
func (c *Controller) NetworkList(ctx context.Context, filters map[string][]string) ([]apinet.Summary, error) {
	for k := range filters {
		switch k {
		case "name", "id", "label", "driver", "type", "scope":
		default:
			return nil, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalidArgument)
		}
	}
	recs, err := c.networkRecords()
	if err != nil {
		return nil, err
	}
	out := []apinet.Summary{}
	for _, n := range recs {
		if networkMatches(n, filters) {
			out = append(out, apinet.Summary{Network: n.toAPI()})
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
func (n netRecord) toAPI() apinet.Network {
	api := apinet.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		EnableIPv4: n.Driver == driverBridge, EnableIPv6: n.EnableIPv6, Internal: n.Internal,
		IPAM:    apinet.IPAM{Driver: "default", Options: maps.Clone(n.IPAMOptions), Config: []apinet.IPAMConfig{}},
		Options: maps.Clone(n.Options), Labels: maps.Clone(n.Labels),
	}
	if api.Options == nil {
		api.Options = map[string]string{}
	}
	if api.Labels == nil {
		api.Labels = map[string]string{}
	}
	if n.Subnet.IsValid() {
		api.IPAM.Config = append(api.IPAM.Config, apinet.IPAMConfig{Subnet: n.Subnet, IPRange: n.IPRange, Gateway: n.gateway(), AuxAddress: maps.Clone(n.AuxAddresses)})
		api.Options[bridgeNameOption] = n.Bridge
	}
	if n.Subnet6.IsValid() {
		api.IPAM.Config = append(api.IPAM.Config, apinet.IPAMConfig{Subnet: n.Subnet6, IPRange: n.IPRange6, Gateway: n.gateway6(), AuxAddress: maps.Clone(n.AuxAddresses6)})
	}
	return api
}

// NetworkInspect returns a network and its running containers' endpoints.
func (c *Controller) NetworkInspect(ctx context.Context, ref string) (apinet.Inspect, error) {
	n, err := c.findNetwork(ref)
	if err != nil {
		return apinet.Inspect{}, err
	}
	out := apinet.Inspect{Network: n.toAPI(), Containers: map[string]apinet.EndpointResource{}}
	recs, err := c.containers.List()
	if err != nil {
		return apinet.Inspect{}, err
	}
	for _, r := range recs {
		if r.State != container.StateRunning {
			continue
		}
		ep, ok := c.endpointsOf(r.ID).Endpoints[n.ID]
		if !ok || !ep.IP.IsValid() {
			continue
		}
		res := apinet.EndpointResource{
			Name: r.Name, EndpointID: ep.HostVeth, MacAddress: apinet.HardwareAddr(ep.mac()),
			IPv4Address: netip.PrefixFrom(ep.IP, n.Subnet.Bits()),
		}
		if ep.IP6.IsValid() {
			res.IPv6Address = netip.PrefixFrom(ep.IP6, n.Subnet6.Bits())
		}
		out.Containers[r.ID] = res
	}
	return out, nil
}

// NetworkCreate makes a bridge network: its own bridge and subnet (the
// one asked for, or a free /16), isolated from every other apinet.
func (c *Controller) NetworkCreate(ctx context.Context, req apinet.CreateRequest) (apinet.CreateResponse, error) {
	return c.networkCreate(req, false)
}

// NetworkCreateDuplicate is NetworkCreate allowing a name another network
// has already: dockerd's CheckDuplicate=false before API 1.44. Lookups by
// that name then fail as ambiguous; the ids still find each.
func (c *Controller) NetworkCreateDuplicate(ctx context.Context, req apinet.CreateRequest) (apinet.CreateResponse, error) {
	return c.networkCreate(req, true)
}

func (c *Controller) networkCreate(req apinet.CreateRequest, duplicate bool) (apinet.CreateResponse, error) {
	n, err := c.newNetworkRecord(req)
	if err != nil {
		return apinet.CreateResponse{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, err := c.networkRecords()
	if err != nil {
		return apinet.CreateResponse{}, err
	}
	for _, o := range recs {
		if o.Name == n.Name && (!duplicate || o.predefined()) {
			return apinet.CreateResponse{}, fmt.Errorf("network with name %s already exists: %w", n.Name, errdefs.ErrConflict)
		}
		if o.Bridge != "" && o.Bridge == n.Bridge {
			return apinet.CreateResponse{}, fmt.Errorf("bridge %s is used by network %s: %w", n.Bridge, o.Name, errdefs.ErrConflict)
		}
		if (o.Subnet.IsValid() && n.Subnet.IsValid() && o.Subnet.Overlaps(n.Subnet)) ||
			(o.Subnet6.IsValid() && n.Subnet6.IsValid() && o.Subnet6.Overlaps(n.Subnet6)) {
			return apinet.CreateResponse{}, fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space: %w", errdefs.ErrConflict)
		}
	}
	if !n.Subnet.IsValid() {
		n.AutoSubnet = true
		if n.Subnet, err = c.freeSubnet(recs); err != nil {
			return apinet.CreateResponse{}, err
		}
	}
	if n.EnableIPv6 && !n.Subnet6.IsValid() {
		if n.Subnet6, err = c.freeSubnet6(recs); err != nil {
			return apinet.CreateResponse{}, err
		}
	}
	if err := c.md.Create(networkKind, n.ID, &n); err != nil {
		return apinet.CreateResponse{}, err
	}
	c.emitNetwork(n, "create")
	return apinet.CreateResponse{ID: n.ID}, nil
}

// newNetworkRecord checks a create request and makes its record, subnet
// still to pick when none was asked for.
func (c *Controller) newNetworkRecord(req apinet.CreateRequest) (netRecord, error) {
	if req.Name == "" {
		return netRecord{}, fmt.Errorf("network name is required: %w", errdefs.ErrInvalidArgument)
	}
	if !validNetworkName(req.Name) {
		return netRecord{}, fmt.Errorf("invalid network name %q: %w", req.Name, errdefs.ErrInvalidArgument)
	}
	switch req.Name {
	case "bridge", "host", "none", "default":
		return netRecord{}, fmt.Errorf("%s is a pre-defined network and cannot be created: %w", req.Name, errdefs.ErrConflict)
	}
	if req.Driver != "" && req.Driver != driverBridge {
		return netRecord{}, fmt.Errorf("plugin %q not found: driver %s: %w", req.Driver, req.Driver, errdefs.ErrNotImplemented)
	}
	id := newNetworkID()
	n := netRecord{
		ID: id, Name: req.Name, Driver: driverBridge, Bridge: "pier-" + id[:10], Internal: req.Internal,
		Labels: req.Labels, Options: req.Options, Created: time.Now().UTC(),
	}
	if b := req.Options[bridgeNameOption]; b != "" {
		// An operator's bridge is never taken over (nor deleted by rm).
		if err := kernel.CheckBridgeName(b); err != nil {
			return netRecord{}, err
		}
		n.Bridge = b
	}
	if req.IPAM != nil {
		n.IPAMOptions = req.IPAM.Options
		for _, cfg := range req.IPAM.Config {
			if cfg.Subnet.Addr().Is6() {
				if err := n.setIPv6Pool(cfg); err != nil {
					return netRecord{}, err
				}
				continue
			}
			if n.Subnet.IsValid() {
				return netRecord{}, fmt.Errorf("more than one IPv4 subnet: %w", errdefs.ErrNotImplemented)
			}
			if cfg.Subnet.Masked() != cfg.Subnet || cfg.Subnet.Bits() > 30 {
				return netRecord{}, fmt.Errorf("invalid subnet %s: want a network address with room for containers: %w", cfg.Subnet, errdefs.ErrInvalidArgument)
			}
			n.Subnet = cfg.Subnet
			if cfg.Gateway.IsValid() && cfg.Gateway != n.gateway() {
				n.Gateway = cfg.Gateway
			}
			n.IPRange, n.AuxAddresses = cfg.IPRange, maps.Clone(cfg.AuxAddress)
			if err := kernel.CheckPool(n.pool()); err != nil {
				return netRecord{}, err
			}
		}
	}
	return n, n.setIPv6(req.EnableIPv6)
}

// setIPv6Pool records the IPAM config's IPv6 entry. Its subnet may carry
// host bits ("2001:db8::1/64"), which dockerd 20.10 accepts and masks.
func (n *netRecord) setIPv6Pool(cfg apinet.IPAMConfig) error {
	if n.Subnet6.IsValid() {
		return fmt.Errorf("more than one IPv6 subnet: %w", errdefs.ErrNotImplemented)
	}
	n.Subnet6 = cfg.Subnet.Masked()
	if cfg.Gateway.IsValid() && cfg.Gateway != n.gateway6() {
		n.Gateway6 = cfg.Gateway
	}
	n.IPRange6, n.AuxAddresses6 = cfg.IPRange, maps.Clone(cfg.AuxAddress)
	if n.IPRange6.IsValid() {
		n.IPRange6 = n.IPRange6.Masked()
	}
	return kernel.CheckPool(n.pool6())
}

// setIPv6 settles whether n is dual stack: EnableIPv6 true, or an IPv6
// subnet given with EnableIPv6 left out (docker-py, CLI 28 without
// --ipv6). An IPv6 subnet with EnableIPv6 false is refused rather than
// kept unused, as dockerd keeps it.
func (n *netRecord) setIPv6(enable *bool) error {
	switch {
	case enable == nil:
		n.EnableIPv6 = n.Subnet6.IsValid()
	case !*enable && n.Subnet6.IsValid():
		return fmt.Errorf("IPAM config has an IPv6 subnet %s but EnableIPv6 is false (docker network create --ipv6): %w", n.Subnet6, errdefs.ErrInvalidArgument)
	default:
		n.EnableIPv6 = *enable
	}
	return nil
}

// NetworkRemove deletes a user network no running container is attached
// to; stopped containers that named it fail to start, as with dockerd.
func (c *Controller) NetworkRemove(ctx context.Context, ref string) error {
	n, err := c.findNetwork(ref)
	if err != nil {
		return err
	}
	if n.predefined() {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", n.Name, errdefs.ErrConflict)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if users, err := c.networkUsers(n.ID, true); err != nil {
		return err
	} else if len(users) > 0 {
		return fmt.Errorf("error while removing network: network %s has active endpoints (name:%q id:%q): %w", n.Name, users[0].Name, users[0].ID[:12], errdefs.ErrConflict)
	}
	c.waitDetaches("")
	if err := c.tearDown(n); err != nil {
		return err
	}
	for _, key := range []string{n.ID, ipam6Key(n.ID)} {
		delete(c.ipams, key)
		if err := os.Remove(c.ipamPath(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	if err := c.md.Delete(networkKind, n.ID); err != nil {
		return err
	}
	c.emitNetwork(n, "destroy")
	return nil
}

// networkUsers lists the containers with an endpoint on network id; with
// running, only those that run.
func (c *Controller) networkUsers(id string, running bool) ([]Container, error) {
	recs, err := c.containers.List()
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, r := range recs {
		if running && r.State != container.StateRunning {
			continue
		}
		if _, ok := c.endpointsOf(r.ID).Endpoints[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// NetworkPrune removes the user networks no container uses that filters
// select, as dockerd's: "label" (key or key=value), "label!", and "until"
// (created before a time or a duration ago).
func (c *Controller) NetworkPrune(ctx context.Context, filters map[string][]string) (apinet.PruneReport, error) {
	sel, err := filter.ParsePrune(filters, time.Now())
	if err != nil {
		return apinet.PruneReport{}, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	recs, err := c.networkRecords()
	if err != nil {
		return apinet.PruneReport{}, err
	}
	report := apinet.PruneReport{NetworksDeleted: []string{}}
	for _, n := range recs {
		if n.predefined() || !sel.Match(n.Labels, n.Created) {
			continue
		}
		if users, err := c.networkUsers(n.ID, false); err != nil || len(users) > 0 {
			continue
		}
		if err := c.NetworkRemove(ctx, n.ID); err != nil {
			continue // raced with a new user
		}
		report.NetworksDeleted = append(report.NetworksDeleted, n.Name)
	}
	return report, nil
}
