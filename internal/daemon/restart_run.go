package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// maybeRestart starts the container whose end r records again after the
// back-off when its restart policy says so. It does not block.
func (d *Daemon) maybeRestart(r containerRecord) {
	if r.HostConfig == nil || r.HostConfig.AutoRemove {
		return
	}
	rr := d.restartState(r.ID)
	if !rr.AutoStartedAt.Equal(r.StartedAt) {
		rr.Count, rr.Delay = 0, 0 // the user started this run
	}
	if !shouldRestart(r.HostConfig.RestartPolicy, r.ExitCode, rr.Count, rr.stoppedByUser(r.StartedAt)) {
		return
	}
	rr.Delay = nextDelay(rr.Delay, r.FinishedAt.Sub(r.StartedAt))
	go func() {
		time.Sleep(rr.Delay)
		d.restartNow(r, rr)
	}()
}

// restartNow starts the container if it is still in the end r records
// and the user has not stopped it meanwhile.
func (d *Daemon) restartNow(ended containerRecord, rr restartRecord) {
	var r containerRecord
	if err := d.md.Get(containerKind, ended.ID, &r); err != nil {
		return // removed during the back-off
	}
	if r.State == container.StateRunning || !r.FinishedAt.Equal(ended.FinishedAt) ||
		d.restartState(r.ID).stoppedByUser(ended.StartedAt) {
		return
	}
	d.startByPolicy(r.ID, rr)
}

// startByPolicy starts container id and records that its policy did.
func (d *Daemon) startByPolicy(id string, rr restartRecord) {
	decided := time.Now().UTC()
	if err := d.ContainerStart(context.Background(), id); err != nil {
		if !errors.Is(err, errdefs.ErrAlreadyExists) {
			d.log.Warn("restart container", "container_id", id, "err", err)
		}
		return
	}
	var r containerRecord
	if err := d.md.Get(containerKind, id, &r); err != nil {
		return
	}
	cur := d.restartState(id)
	rr.Count++
	rr.AutoStartedAt, rr.StoppedAt = r.StartedAt, cur.StoppedAt
	if err := d.md.Put(restartKind, id, &rr); err != nil {
		d.log.Warn("restart record", "container_id", id, "err", err)
	}
	// A user stop that came while it was starting found it not running:
	// honour it now.
	if !cur.StoppedAt.Before(decided) {
		if err := d.ContainerStop(context.Background(), id, nil); err != nil {
			d.log.Warn("stop restarted container", "container_id", id, "err", err)
		}
	}
}

// restartOnBoot starts, in the background, the containers that do not run
// and whose policy is always, or unless-stopped that the user did not
// stop, as dockerd does when it starts.
func (d *Daemon) restartOnBoot() {
	recs, err := d.containerRecords()
	if err != nil {
		d.log.Warn("restart on boot", "err", err)
		return
	}
	for _, r := range recs {
		if r.State == container.StateRunning || r.HostConfig == nil {
			continue
		}
		rr := d.restartState(r.ID)
		switch r.HostConfig.RestartPolicy.Name {
		case container.RestartPolicyAlways:
		case container.RestartPolicyUnlessStopped:
			if rr.stoppedByUser(r.StartedAt) {
				continue
			}
		default:
			continue
		}
		go d.startByPolicy(r.ID, restartRecord{StoppedAt: rr.StoppedAt})
	}
}
