package daemon

import (
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Healthchecks, as dockerd runs them. A container whose config (merged
// over its image's) has a CMD or CMD-SHELL test gets one goroutine from
// its start to its end (healthStart, healthStop) that runs the test in
// the container every interval (health_probe.go) and records the result:
// status "starting" until a probe passes ("healthy") or `retries` probes
// in a row fail ("unhealthy"); failures within the start period do not
// count, and probes come every start interval until one passes.
//
// The state lives in a metadata record of kind healthKind, written after
// every probe, so that inspect, ps and a restarted pierd see it; in the
// exec root (execroot.go), as a probe's result is no disk write, and a
// reboot forgets it. Like dockerd, a new run of the container starts
// "starting" again with the log of the earlier runs kept, and a container
// that ended shows the last state it had (until the host reboots).

// healthKind is the metadata kind of health records, one per container
// that has ever run with a healthcheck.
const healthKind = "health"

// Docker's defaults and limits.
const (
	healthInterval      = 30 * time.Second
	healthTimeout       = 30 * time.Second
	healthStartInterval = 5 * time.Second
	healthRetries       = 3
	healthLogSize       = 5    // results kept in Health.Log
	healthOutputMax     = 4096 // bytes of a probe's output kept
)

// healthRecord is a container's health; StartedAt names the run it is
// about.
type healthRecord struct {
	StartedAt time.Time        `json:"startedAt"`
	Health    container.Health `json:"health"`
}

// healthCheck is a container's effective healthcheck, defaults applied.
type healthCheck struct {
	Cmd                                           []string // what runs in the container
	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries                                       int
}

// mergeHealthConfig is dockerd's merge of a container's healthcheck over
// its image's: a test or duration the container leaves empty or zero is
// the image's.
func mergeHealthConfig(c *container.HealthConfig, img *v1.HealthConfig) *container.HealthConfig {
	if img == nil {
		return c
	}
	if c == nil {
		return &container.HealthConfig{Test: img.Test, Interval: img.Interval, Timeout: img.Timeout,
			StartPeriod: img.StartPeriod, Retries: img.Retries}
	}
	m := *c
	if len(m.Test) == 0 {
		m.Test = img.Test
	}
	if m.Interval == 0 {
		m.Interval = img.Interval
	}
	if m.Timeout == 0 {
		m.Timeout = img.Timeout
	}
	if m.StartPeriod == 0 {
		m.StartPeriod = img.StartPeriod
	}
	if m.Retries == 0 {
		m.Retries = img.Retries
	}
	return &m
}

// checkOf is the check h describes, run by shell for CMD-SHELL; false when
// there is none: no test, NONE, or a type dockerd does not know.
func checkOf(h *container.HealthConfig, shell []string) (healthCheck, bool) {
	if h == nil || len(h.Test) == 0 {
		return healthCheck{}, false
	}
	var cmd []string
	switch h.Test[0] {
	case "CMD":
		cmd = append(cmd, h.Test[1:]...)
	case "CMD-SHELL":
		if len(shell) == 0 {
			shell = []string{"/bin/sh", "-c"}
		}
		cmd = append(append(cmd, shell...), h.Test[1:]...)
	default:
		return healthCheck{}, false
	}
	if len(cmd) == 0 {
		return healthCheck{}, false
	}
	pick := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		return v
	}
	hc := healthCheck{Cmd: cmd, Interval: pick(h.Interval, healthInterval), Timeout: pick(h.Timeout, healthTimeout),
		StartPeriod: max(h.StartPeriod, 0), StartInterval: pick(h.StartInterval, healthStartInterval), Retries: h.Retries}
	if hc.Retries <= 0 {
		hc.Retries = healthRetries
	}
	return hc, true
}

// validateHealthConfig is dockerd's check of a container's healthcheck at
// create, with its wording.
func validateHealthConfig(h *container.HealthConfig) error {
	if h == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"StartPeriod", h.StartPeriod}, {"StartInterval", h.StartInterval}} {
		if f.v != 0 && f.v < container.MinimumDuration {
			return fmt.Errorf("%s in Healthcheck cannot be less than %s: %w", f.name, container.MinimumDuration, errdefs.ErrInvalidArgument)
		}
	}
	if h.Retries < 0 {
		return fmt.Errorf("Retries in Healthcheck cannot be negative: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// apply records the result of a probe of the run that started at started
// and reports whether the status changed.
func (hc healthCheck) apply(h *container.Health, res *container.HealthcheckResult, started time.Time) bool {
	old := h.Status
	h.Log = append(h.Log, res)
	if n := len(h.Log); n > healthLogSize {
		h.Log = append([]*container.HealthcheckResult(nil), h.Log[n-healthLogSize:]...)
	}
	if res.ExitCode == 0 {
		h.FailingStreak, h.Status = 0, container.Healthy
		return h.Status != old
	}
	if h.Status == container.Starting && res.Start.Sub(started) < hc.StartPeriod {
		return false // the start period forgives it
	}
	h.FailingStreak++
	if h.FailingStreak >= hc.Retries {
		h.Status = container.Unhealthy
	}
	return h.Status != old
}

// next is the wait before the next probe: the start interval while the
// run is in its start period and no probe has passed, else the interval.
func (hc healthCheck) next(started, now time.Time, status container.HealthStatus) time.Duration {
	if status == container.Starting && now.Sub(started) < hc.StartPeriod {
		return hc.StartInterval
	}
	return hc.Interval
}

// healthCheckOf is r's effective check, its config merged over its
// image's (an image removed since counts as having none).
func (d *Daemon) healthCheckOf(r containerRecord) (healthCheck, bool) {
	if r.Config == nil {
		return healthCheck{}, false
	}
	h := r.Config.Healthcheck
	if img, err := d.images.Get(r.Image); err == nil {
		if cfg, err := d.images.Config(img); err == nil {
			h = mergeHealthConfig(h, cfg.Config.Healthcheck)
		}
	}
	return checkOf(h, r.Config.Shell)
}

// healthRecordOf reads container id's health record; false without one.
func (d *Daemon) healthRecordOf(id string) (healthRecord, bool) {
	var rec healthRecord
	if err := d.vmd.Get(healthKind, id, &rec); err != nil {
		return healthRecord{}, false
	}
	return rec, true
}

// healthOf is container r's health for inspect, nil without a check.
func (d *Daemon) healthOf(r containerRecord) *container.Health {
	rec, ok := d.healthRecordOf(r.ID)
	if !ok {
		return nil
	}
	h := rec.Health
	if h.Log == nil {
		h.Log = []*container.HealthcheckResult{}
	}
	return &h
}

// healthStatus is the "(healthy)" suffix of `ps`'s STATUS, "" without a
// check.
func (d *Daemon) healthStatus(r containerRecord) string {
	rec, ok := d.healthRecordOf(r.ID)
	if !ok {
		return ""
	}
	if rec.Health.Status == container.Starting {
		return " (health: starting)"
	}
	return " (" + string(rec.Health.Status) + ")"
}

// healthSummary is container r's health in `ps`'s JSON, nil without a
// check.
func (d *Daemon) healthSummary(r containerRecord) *container.HealthSummary {
	rec, ok := d.healthRecordOf(r.ID)
	if !ok {
		return nil
	}
	return &container.HealthSummary{Status: rec.Health.Status, FailingStreak: rec.Health.FailingStreak}
}

// healthFilter checks the values of ps's health filter, in dockerd's
// words.
func healthFilter(vals []string) error {
	for _, v := range vals {
		if err := container.ValidateHealthStatus(container.HealthStatus(v)); err != nil {
			return fmt.Errorf("Unrecognised filter value for health: %s: %w", v, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// healthRemove forgets a removed container's health.
func (d *Daemon) healthRemove(id string) {
	if err := d.vmd.Delete(healthKind, id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Warn("health record", "container_id", id, "err", err)
	}
}
