package daemon

import (
	"errors"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// restartKind is the metadata kind of restart records, one per container
// that a policy restarted or the user stopped.
const restartKind = "restart"

// Docker's back-off: 100 ms doubling up to a minute, back to 100 ms once a
// run lasted 10 s.
const (
	restartFirstDelay = 100 * time.Millisecond
	restartMaxDelay   = time.Minute
	restartResetAfter = 10 * time.Second
)

// restartRecord is what the daemon keeps of a container's restarts.
type restartRecord struct {
	Count int           `json:"count"`
	Delay time.Duration `json:"delay"` // the last back-off
	// AutoStartedAt is the StartedAt of the run the policy started: a run
	// that started otherwise was the user's, and counting begins again.
	AutoStartedAt time.Time `json:"autoStartedAt"`
	// StoppedAt is when the user last stopped the container.
	StoppedAt time.Time `json:"stoppedAt"`
}

// stoppedByUser reports whether the user stopped the run that started at
// startedAt.
func (rr restartRecord) stoppedByUser(startedAt time.Time) bool {
	return !rr.StoppedAt.IsZero() && !rr.StoppedAt.Before(startedAt)
}

// shouldRestart decides for a run that ended with exitCode after count
// restarts; stopped says the user stopped it.
func shouldRestart(p container.RestartPolicy, exitCode, count int, stopped bool) bool {
	if stopped {
		return false
	}
	switch p.Name {
	case container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		return true
	case container.RestartPolicyOnFailure:
		return exitCode != 0 && (p.MaximumRetryCount <= 0 || count < p.MaximumRetryCount)
	}
	return false
}

// nextDelay is the back-off after a run that lasted ran, the last one
// having been prev.
func nextDelay(prev, ran time.Duration) time.Duration {
	if prev <= 0 || ran >= restartResetAfter {
		return restartFirstDelay
	}
	return min(2*prev, restartMaxDelay)
}

// markStoppedByUser notes that the user stops container id now, so that
// its policy does not start it again.
func (d *Daemon) markStoppedByUser(id string) {
	var rr restartRecord
	err := d.md.Update(restartKind, id, &rr, func() error { rr.StoppedAt = time.Now().UTC(); return nil })
	if errors.Is(err, errdefs.ErrNotFound) {
		err = d.md.Put(restartKind, id, &restartRecord{StoppedAt: time.Now().UTC()})
	}
	if err != nil {
		d.log.Warn("restart record", "container_id", id, "err", err)
	}
}

// restartState reads container id's restart record; none is the zero one.
func (d *Daemon) restartState(id string) restartRecord {
	var rr restartRecord
	if err := d.md.Get(restartKind, id, &rr); err != nil {
		return restartRecord{}
	}
	return rr
}

// restartCount is the number of times the policy restarted the
// container since the user last started it.
func (d *Daemon) restartCount(r containerRecord) int {
	rr := d.restartState(r.ID)
	if !rr.AutoStartedAt.Equal(r.StartedAt) {
		return 0
	}
	return rr.Count
}

// markRemoving is markStoppedByUser for a container being removed, which
// only a policy that could start it again needs: for the others it would
// be a record written to be deleted a moment later.
func (d *Daemon) markRemoving(r containerRecord) {
	if p := r.HostConfig.RestartPolicy.Name; p != "" && p != container.RestartPolicyDisabled {
		d.markStoppedByUser(r.ID)
	}
}

// restartForget drops a removed container's restart record.
func (d *Daemon) restartForget(id string) {
	if err := d.md.Delete(restartKind, id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Warn("restart record", "container_id", id, "err", err)
	}
}
