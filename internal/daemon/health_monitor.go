package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// healthMonitor is the goroutine that probes one run of a container.
type healthMonitor struct {
	cancel context.CancelFunc // ends the goroutine and kills a probe under way
	done   chan struct{}      // closed when the goroutine has returned
}

// healthTable holds the running monitors by container id; an ended
// monitor leaves no entry.
type healthTable struct {
	mu sync.Mutex
	m  map[string]*healthMonitor // Guarded by mu; made on first use.
}

// healthOps is what the probing loop needs of the daemon; tests fake it.
type healthOps interface {
	// probe runs the check once; ctx ends when the monitor is stopped.
	probe(ctx context.Context) *container.HealthcheckResult
	// state reports whether the run goes on and whether it is paused.
	state() (running, paused bool)
	// record keeps h, changed saying its status changed.
	record(h container.Health, changed bool)
}

// healthLoop probes every interval, from started, until ctx ends or the
// run is over; a paused container is not probed, as with dockerd. h is
// the state the run starts from.
func healthLoop(ctx context.Context, hc healthCheck, started time.Time, h container.Health, ops healthOps) {
	timer := time.NewTimer(hc.next(started, time.Now(), h.Status))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		running, paused := ops.state()
		if !running {
			return
		}
		if !paused {
			res := ops.probe(ctx)
			if ctx.Err() != nil {
				return // stopped while probing: the result is no one's
			}
			changed := hc.apply(&h, res, started)
			ops.record(h, changed)
		}
		timer.Reset(hc.next(started, time.Now(), h.Status))
	}
}

// healthStart starts container r's healthcheck, if it has one: status
// "starting", no failures, the log of earlier runs kept.
func (d *Daemon) healthStart(r containerRecord) {
	hc, ok := d.healthCheckOf(r)
	if !ok {
		return
	}
	rec, _ := d.healthRecordOf(r.ID)
	rec.StartedAt = r.StartedAt
	rec.Health.Status, rec.Health.FailingStreak = container.Starting, 0
	if err := d.vmd.Put(healthKind, r.ID, &rec); err != nil {
		d.log.Warn("health record", "container_id", r.ID, "err", err)
	}
	d.healthRun(r, hc, rec.Health)
}

// healthResume takes up the checks of the containers that run when the
// daemon starts, keeping their state, and forgets the health of
// containers that are gone.
func (d *Daemon) healthResume() {
	recs, err := d.containerRecords()
	if err != nil {
		d.log.Warn("health resume", "err", err)
		return
	}
	known := map[string]bool{}
	for _, r := range recs {
		known[r.ID] = true
		if r.State != container.StateRunning {
			continue
		}
		rec, ok := d.healthRecordOf(r.ID)
		hc, has := d.healthCheckOf(r)
		switch {
		case !has:
		case !ok || !rec.StartedAt.Equal(r.StartedAt):
			d.healthStart(r) // the daemon died before this run's check began
		default:
			d.healthRun(r, hc, rec.Health)
		}
	}
	ids, _ := d.vmd.List(healthKind)
	for _, id := range ids {
		if !known[id] {
			d.healthRemove(id)
		}
	}
}

// healthRun starts the monitor of r's run from state h, replacing any.
func (d *Daemon) healthRun(r containerRecord, hc healthCheck, h container.Health) {
	d.healthStop(r.ID)
	ctx, cancel := context.WithCancel(context.Background())
	m := &healthMonitor{cancel: cancel, done: make(chan struct{})}
	key := r.ID
	d.health.mu.Lock()
	if d.health.m == nil {
		d.health.m = map[string]*healthMonitor{}
	}
	d.health.m[key] = m
	d.health.mu.Unlock()
	ops := &containerHealth{d: d, r: r, hc: hc}
	go func() {
		defer close(m.done)
		defer d.healthForget(key, m)
		healthLoop(ctx, hc, r.StartedAt, h, ops)
	}()
}

// healthForget removes m from the table unless it was replaced already.
func (d *Daemon) healthForget(key string, m *healthMonitor) {
	d.health.mu.Lock()
	defer d.health.mu.Unlock()
	if d.health.m[key] == m {
		delete(d.health.m, key)
	}
}

// healthStop stops container id's healthcheck, killing a probe under way,
// and returns once its goroutine has ended.
func (d *Daemon) healthStop(id string) {
	key := id
	d.health.mu.Lock()
	m := d.health.m[key]
	delete(d.health.m, key)
	d.health.mu.Unlock()
	if m != nil {
		m.cancel()
		<-m.done
	}
}

// containerHealth is healthOps for one run of a real container.
type containerHealth struct {
	d  *Daemon
	r  containerRecord
	hc healthCheck
}

func (c *containerHealth) probe(ctx context.Context) *container.HealthcheckResult {
	return c.d.healthProbe(ctx, c.r, c.hc)
}

// state reads the record: a run that ended or was replaced is over even
// if healthStop has not come yet (a daemon that adopted it, say).
func (c *containerHealth) state() (bool, bool) {
	var cur containerRecord
	if err := c.d.md.Get(containerKind, c.r.ID, &cur); err != nil {
		return false, false
	}
	if cur.State != container.StateRunning || !cur.StartedAt.Equal(c.r.StartedAt) {
		return false, false
	}
	return true, c.d.paused(cur)
}

func (c *containerHealth) record(h container.Health, changed bool) {
	rec := healthRecord{StartedAt: c.r.StartedAt, Health: h}
	if err := c.d.vmd.Put(healthKind, c.r.ID, &rec); err != nil {
		c.d.log.Warn("health record", "container_id", c.r.ID, "err", err)
	}
	if changed {
		c.d.emitContainer(c.r, events.Action(string(events.ActionHealthStatus)+": "+string(h.Status)))
	}
}
