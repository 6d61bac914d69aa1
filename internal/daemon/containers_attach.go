package daemon

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
)

// ContainerAttach calls fn for what the container writes from now until
// its next end (the end of this run if it runs, else of the coming start).
func (d *Daemon) ContainerAttach(ctx context.Context, ref string, fn func(logfile.Entry) error) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if r.State == container.StateExited {
		return fmt.Errorf("You cannot attach to a stopped container, start it first: %w", errdefs.ErrConflict)
	}
	w := d.exitOf(r.ID)
	return logfile.Read(ctx, d.paths(r.ID).log, logfile.ReadOptions{Tail: 0, Follow: true, Done: w.done}, fn)
}
