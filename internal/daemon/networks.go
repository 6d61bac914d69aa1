package daemon

import (
	"context"

	"github.com/moby/moby/api/types/container"
	apinet "github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/daemon/network"
)

// newNetworks makes the network controller over the daemon's store,
// events and containers; d.md and d.events exist.
func (d *Daemon) newNetworks() *network.Controller {
	return network.New(network.Config{Root: d.cfg.Root, DefaultRoot: d.cfg.Root == DefaultRoot,
		Store: d.md, Log: d.log, Events: d.events, Containers: netContainers{d}})
}

// Networks is the controller that owns pier's networks: the API's
// network backend, and what pierd holds up while it serves (Hold).
func (d *Daemon) Networks() *network.Controller { return d.nets }

// netContainers is the daemon's containers as the network controller
// looks them up.
type netContainers struct{ d *Daemon }

func (c netContainers) Get(id string) (network.Container, error) {
	var r containerRecord
	err := c.d.md.Get(containerKind, id, &r)
	return c.d.netView(r), err
}

func (c netContainers) List() ([]network.Container, error) {
	recs, err := c.d.containerRecords()
	out := make([]network.Container, 0, len(recs))
	for _, r := range recs {
		out = append(out, c.d.netView(r))
	}
	return out, err
}

func (c netContainers) Lock(ref string) (network.Container, func(), error) {
	r, unlock, err := c.d.lookupLocked(ref)
	return c.d.netView(r), unlock, err
}

func (c netContainers) ImagePorts(id string) []string {
	img, err := c.d.images.Get(id)
	if err != nil {
		return nil
	}
	cf, err := c.d.images.Config(img)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(cf.Config.ExposedPorts))
	for p := range cf.Config.ExposedPorts {
		out = append(out, p)
	}
	return out
}

// netView is what the network controller knows of container r.
func (d *Daemon) netView(r containerRecord) network.Container {
	p := d.paths(r.ID)
	return network.Container{ID: r.ID, Name: r.Name, Image: r.Image, State: r.State, Config: r.Config,
		HostConfig: r.HostConfig, HostnamePath: p.hostname, HostsPath: p.hosts, ResolvConfPath: p.resolvConf}
}

// A container's network, around its lifecycle (network.Controller's doc).

func (d *Daemon) netnsPath(id string, host *container.HostConfig) string {
	return d.nets.NetnsPath(id, host)
}

func (d *Daemon) networkCreate(ctx context.Context, id string, nc *apinet.NetworkingConfig, host *container.HostConfig) error {
	return d.nets.AddContainer(ctx, id, nc, host)
}

func (d *Daemon) networkStop(r containerRecord) { d.nets.StopContainer(d.netView(r)) }

func (d *Daemon) networkRemove(id string) { d.nets.RemoveContainer(id) }

func (d *Daemon) networkInspect(r containerRecord, resp *container.InspectResponse) {
	d.nets.InspectContainer(d.netView(r), resp)
}

func (d *Daemon) networkSummary(r containerRecord, s *container.Summary) {
	d.nets.SummarizeContainer(d.netView(r), s)
}
