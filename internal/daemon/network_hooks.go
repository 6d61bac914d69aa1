package daemon

import (
	"context"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// netnsPath is the network namespace file the spec of container id joins
// for host's network mode; "" leaves the namespace to specgen (none, host,
// container:<x>, or a new one with only lo).
func (d *Daemon) netnsPath(id string, host *container.HostConfig) string { return "" }

// networkCreate checks and records container id's network settings at
// create.
func (d *Daemon) networkCreate(ctx context.Context, id string, nc *network.NetworkingConfig, host *container.HostConfig) error {
	return nil
}

// networkStart wires container r's network before its start.
func (d *Daemon) networkStart(ctx context.Context, r *containerRecord) error { return nil }

// networkStop undoes networkStart once the container has ended or failed
// to start.
func (d *Daemon) networkStop(r containerRecord) {}

// networkRemove forgets container id's network settings.
func (d *Daemon) networkRemove(id string) {}

// networkInspect fills the network parts of an inspect.
func (d *Daemon) networkInspect(r containerRecord, resp *container.InspectResponse) {}

// networkSummary fills the network parts of a `ps` row.
func (d *Daemon) networkSummary(r containerRecord, s *container.Summary) {}
