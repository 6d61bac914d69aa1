package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/filter"
)

// ContainersPrune removes every container that does not run and that
// filters select ("label" key or key=value, "label!", "until" a time or
// duration), and reports what went with how much its writable layers took.
func (d *Daemon) ContainersPrune(ctx context.Context, filters map[string][]string) (container.PruneReport, error) {
	sel, err := pruneSelector(filters, time.Now())
	if err != nil {
		return container.PruneReport{}, err
	}
	recs, err := d.containerRecords()
	if err != nil {
		return container.PruneReport{}, err
	}
	report := container.PruneReport{ContainersDeleted: []string{}}
	var errs []error
	for _, r := range recs {
		if r.State == container.StateRunning || !sel(r) {
			continue
		}
		size := d.upperSize(r.ID)
		if err := d.ContainerRemove(ctx, r.ID, false); err != nil {
			if !errors.Is(err, errdefs.ErrNotFound) && !errors.Is(err, errdefs.ErrConflict) {
				errs = append(errs, err)
			}
			continue // started or removed meanwhile
		}
		report.ContainersDeleted = append(report.ContainersDeleted, r.ID)
		report.SpaceReclaimed += uint64(size)
	}
	d.emit(events.ContainerEventType, events.ActionPrune, "", map[string]string{"reclaimed": strconv.FormatUint(report.SpaceReclaimed, 10)})
	return report, errors.Join(errs...)
}

// pruneSelector turns prune filters into a test of a record.
func pruneSelector(filters map[string][]string, now time.Time) (func(containerRecord) bool, error) {
	p, err := filter.ParsePrune(filters, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	return func(r containerRecord) bool {
		var labels map[string]string
		if r.Config != nil {
			labels = r.Config.Labels
		}
		return p.Match(labels, r.Created)
	}, nil
}
