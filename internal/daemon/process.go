package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// pausedKind holds a record per paused container. The container record
// keeps State "running" while it is paused, so the lifecycle code that
// branches on running still sees a live container; inspect and ps show
// "paused" from this record, kept in the exec root (a reboot thaws all).
const pausedKind = "paused"

// pausedRecord names the run it froze: a marker left by an earlier run
// (the container ended while frozen) is stale.
type pausedRecord struct {
	StartedAt time.Time `json:"startedAt"`
}

// paused reports whether r's current run is paused.
func (d *Daemon) paused(r containerRecord) bool {
	if r.State != container.StateRunning {
		return false
	}
	var p pausedRecord
	if err := d.vmd.Get(pausedKind, r.ID, &p); err != nil {
		return false
	}
	return p.StartedAt.Equal(r.StartedAt)
}

// showPaused makes an inspected paused container look as dockerd shows
// one: status "paused", still running.
func (d *Daemon) showPaused(r containerRecord, st *container.State) {
	if st != nil && d.paused(r) {
		st.Status, st.Paused = container.StatePaused, true
	}
}

// showPausedSummary is showPaused for a `ps` row.
func (d *Daemon) showPausedSummary(r containerRecord, s *container.Summary) {
	if d.paused(r) {
		s.State, s.Status = container.StatePaused, s.Status+" (Paused)"
	}
}

// ContainerPause freezes every process of a running container.
func (d *Daemon) ContainerPause(ctx context.Context, ref string) error {
	r, unlock, err := d.lookupLocked(ref)
	if err != nil {
		return err
	}
	defer unlock()
	if r.State != container.StateRunning {
		return fmt.Errorf("container %s is not running: %w", r.ID, errdefs.ErrConflict)
	}
	if d.paused(r) {
		return fmt.Errorf("container %s is already paused: %w", r.ID, errdefs.ErrConflict)
	}
	if err := d.runtimeOf(r.ID).Pause(ctx, r.ID); err != nil {
		return err
	}
	return d.vmd.Put(pausedKind, r.ID, &pausedRecord{StartedAt: r.StartedAt})
}

// ContainerUnpause thaws a paused container.
func (d *Daemon) ContainerUnpause(ctx context.Context, ref string) error {
	r, unlock, err := d.lookupLocked(ref)
	if err != nil {
		return err
	}
	defer unlock()
	if !d.paused(r) {
		return fmt.Errorf("container %s is not paused: %w", r.ID, errdefs.ErrConflict)
	}
	return d.unpause(ctx, r.ID)
}

// unpause resumes id and drops its marker; id is locked.
func (d *Daemon) unpause(ctx context.Context, id string) error {
	if err := d.runtimeOf(id).Resume(ctx, id); err != nil {
		return err
	}
	if err := d.vmd.Delete(pausedKind, id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	return nil
}

// thawAfterSignal unpauses id if it is paused, after kill signalled it:
// a frozen process acts on no signal, not even SIGKILL, so stop, kill
// and rm -f would wait forever. dockerd thaws it too.
func (d *Daemon) thawAfterSignal(ctx context.Context, id string) error {
	r, err := d.lookup(id)
	if err != nil || !d.paused(r) {
		return nil // gone, or not paused: nothing to thaw
	}
	defer d.lockContainer(id)()
	if !d.paused(r) {
		return nil // unpaused meanwhile
	}
	return d.unpause(ctx, id)
}

// ContainerRename gives a container a new name, under Docker's rules.
func (d *Daemon) ContainerRename(ctx context.Context, ref, newName string) error {
	d.ctrMu.Lock()
	defer d.ctrMu.Unlock()
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	newName = strings.TrimPrefix(newName, "/")
	if newName == "" {
		return fmt.Errorf("Neither old nor new names may be empty: %w", errdefs.ErrInvalidArgument)
	}
	if newName == r.Name {
		return fmt.Errorf("Renaming a container with the same name as its current name: %w", errdefs.ErrInvalidArgument)
	}
	// reserveName checks the syntax and that no container has the name.
	if _, err := d.reserveName(newName); err != nil {
		return err
	}
	return d.md.Update(containerKind, r.ID, &r, func() error {
		r.Name = newName
		return nil
	})
}

// ContainerRestart stops a running (or paused) container, as stop does
// with timeout, and starts it again; a stopped one is just started.
func (d *Daemon) ContainerRestart(ctx context.Context, ref string, timeout *int) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if d.paused(r) {
		// A frozen process cannot act on its stop signal.
		unlock := d.lockContainer(r.ID)
		err := d.unpause(ctx, r.ID)
		unlock()
		if err != nil {
			return err
		}
	}
	if err := d.ContainerStop(ctx, r.ID, timeout); err != nil && !errors.Is(err, errdefs.ErrNotRunning) {
		return err
	}
	return d.ContainerStart(ctx, r.ID)
}
