package daemon

import (
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// restarting reports whether r ended and its restart policy will start
// it again: dockerd shows such a container as "restarting" during the
// back-off, and refuses to remove it without force.
func (d *Daemon) restarting(r containerRecord) bool {
	if r.State != container.StateExited || r.HostConfig == nil || r.HostConfig.AutoRemove || r.StartedAt.IsZero() {
		return false
	}
	rr := d.restartState(r.ID)
	count := rr.Count
	if !rr.AutoStartedAt.Equal(r.StartedAt) {
		count = 0 // the user started the last run, as maybeRestart counts
	}
	return shouldRestart(r.HostConfig.RestartPolicy, r.ExitCode, count, rr.stoppedByUser(r.StartedAt))
}

// showRestarting marks inspect's state of a restarting container.
func (d *Daemon) showRestarting(r containerRecord, st *container.State) {
	if st != nil && d.restarting(r) {
		st.Status, st.Restarting = container.StateRestarting, true
	}
}

// showRestartingSummary is showRestarting for a `ps` row.
func (d *Daemon) showRestartingSummary(r containerRecord, s *container.Summary) {
	if d.restarting(r) {
		s.State = container.StateRestarting
		s.Status = strings.Replace(s.Status, "Exited (", "Restarting (", 1)
	}
}

// refuseRestarting is remove's check without force, with dockerd's text.
func (d *Daemon) refuseRestarting(r containerRecord) error {
	if !d.restarting(r) {
		return nil
	}
	return errdefs.Newf(errdefs.ErrConflict, "You cannot remove a restarting container %s. Stop the container before attempting removal or force remove", r.ID)
}
