package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestMergeHealthConfig(t *testing.T) {
	img := &v1.HealthConfig{Test: []string{"CMD", "img"}, Interval: time.Second, Timeout: 2 * time.Second,
		StartPeriod: 3 * time.Second, Retries: 4}
	if got := mergeHealthConfig(nil, nil); got != nil {
		t.Errorf("nil over nil = %+v", got)
	}
	if got := mergeHealthConfig(nil, img); !slices.Equal(got.Test, img.Test) || got.Interval != time.Second || got.Retries != 4 {
		t.Errorf("nil over image = %+v", got)
	}
	c := &container.HealthConfig{Test: []string{"CMD-SHELL", "mine"}, Timeout: 5 * time.Second}
	got := mergeHealthConfig(c, img)
	want := container.HealthConfig{Test: c.Test, Interval: time.Second, Timeout: 5 * time.Second,
		StartPeriod: 3 * time.Second, Retries: 4}
	if !slices.Equal(got.Test, want.Test) || got.Interval != want.Interval || got.Timeout != want.Timeout ||
		got.StartPeriod != want.StartPeriod || got.Retries != want.Retries {
		t.Errorf("merge = %+v, want %+v", got, want)
	}
	if c.Interval != 0 {
		t.Error("merge changed the container's config")
	}
	// Durations only (docker run --health-interval on an image's check).
	got = mergeHealthConfig(&container.HealthConfig{Interval: time.Millisecond}, img)
	if !slices.Equal(got.Test, img.Test) || got.Interval != time.Millisecond {
		t.Errorf("interval over image = %+v", got)
	}
	// --no-healthcheck.
	got = mergeHealthConfig(&container.HealthConfig{Test: []string{"NONE"}}, img)
	if _, ok := checkOf(got, nil); ok {
		t.Errorf("NONE over image has a check: %+v", got)
	}
}

func TestCheckOf(t *testing.T) {
	hc, ok := checkOf(&container.HealthConfig{Test: []string{"CMD-SHELL", "test -f /ok"}}, nil)
	want := healthCheck{Cmd: []string{"/bin/sh", "-c", "test -f /ok"}, Interval: 30 * time.Second,
		Timeout: 30 * time.Second, StartInterval: 5 * time.Second, Retries: 3}
	if !ok || !slices.Equal(hc.Cmd, want.Cmd) || hc.Interval != want.Interval || hc.Timeout != want.Timeout ||
		hc.StartPeriod != 0 || hc.StartInterval != want.StartInterval || hc.Retries != want.Retries {
		t.Errorf("defaults = %+v %v, want %+v", hc, ok, want)
	}
	hc, _ = checkOf(&container.HealthConfig{Test: []string{"CMD-SHELL", "x"}}, []string{"/bin/bash", "-ec"})
	if !slices.Equal(hc.Cmd, []string{"/bin/bash", "-ec", "x"}) {
		t.Errorf("SHELL = %q", hc.Cmd)
	}
	hc, _ = checkOf(&container.HealthConfig{Test: []string{"CMD", "true", "x"}, Interval: time.Second,
		Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, StartInterval: 4 * time.Second, Retries: 7}, nil)
	if !slices.Equal(hc.Cmd, []string{"true", "x"}) || hc.Interval != time.Second || hc.Timeout != 2*time.Second ||
		hc.StartPeriod != 3*time.Second || hc.StartInterval != 4*time.Second || hc.Retries != 7 {
		t.Errorf("CMD = %+v", hc)
	}
	for _, test := range [][]string{nil, {}, {"NONE"}, {"CMD"}, {"HTTP", "x"}} {
		if hc, ok := checkOf(&container.HealthConfig{Test: test}, nil); ok {
			t.Errorf("%q has a check: %+v", test, hc)
		}
	}
	if _, ok := checkOf(nil, nil); ok {
		t.Error("nil has a check")
	}
}

func TestValidateHealthConfig(t *testing.T) {
	for _, tc := range []struct {
		h    *container.HealthConfig
		want string
	}{
		{nil, ""},
		{&container.HealthConfig{Interval: time.Millisecond, Timeout: time.Hour, Retries: 1}, ""},
		{&container.HealthConfig{Interval: time.Microsecond}, "Interval in Healthcheck cannot be less than 1ms"},
		{&container.HealthConfig{Timeout: 10}, "Timeout in Healthcheck cannot be less than 1ms"},
		{&container.HealthConfig{StartPeriod: 10}, "StartPeriod in Healthcheck cannot be less than 1ms"},
		{&container.HealthConfig{StartInterval: 10}, "StartInterval in Healthcheck cannot be less than 1ms"},
		{&container.HealthConfig{Retries: -1}, "Retries in Healthcheck cannot be negative"},
	} {
		err := validateHealthConfig(tc.h)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want) ||
			!errors.Is(err, errdefs.ErrInvalidArgument)) {
			t.Errorf("validate %+v = %v, want %q", tc.h, err, tc.want)
		}
	}
}

func result(start time.Time, code int) *container.HealthcheckResult {
	return &container.HealthcheckResult{Start: start, End: start, ExitCode: code}
}

func TestHealthApply(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	hc := healthCheck{Retries: 2, StartPeriod: 10 * time.Second}
	h := container.Health{Status: container.Starting}
	// Failures in the start period do not count.
	for i := range 3 {
		if hc.apply(&h, result(t0.Add(time.Duration(i)*time.Second), 1), t0) || h.FailingStreak != 0 {
			t.Fatalf("failure %d in the start period: %+v", i, h)
		}
	}
	if !hc.apply(&h, result(t0.Add(4*time.Second), 0), t0) || h.Status != container.Healthy {
		t.Fatalf("a pass: %+v", h)
	}
	// Once healthy the start period no longer forgives.
	if hc.apply(&h, result(t0.Add(5*time.Second), 1), t0) || h.FailingStreak != 1 || h.Status != container.Healthy {
		t.Fatalf("one failure: %+v", h)
	}
	if !hc.apply(&h, result(t0.Add(6*time.Second), 2), t0) || h.FailingStreak != 2 || h.Status != container.Unhealthy {
		t.Fatalf("retries failures: %+v", h)
	}
	if hc.apply(&h, result(t0.Add(7*time.Second), -1), t0) || h.FailingStreak != 3 {
		t.Fatalf("a timeout: %+v", h)
	}
	if !hc.apply(&h, result(t0.Add(8*time.Second), 0), t0) || h.FailingStreak != 0 || h.Status != container.Healthy {
		t.Fatalf("pass after unhealthy: %+v", h)
	}
	if len(h.Log) != healthLogSize || !h.Log[healthLogSize-1].Start.Equal(t0.Add(8*time.Second)) {
		t.Errorf("log = %d entries, last %v", len(h.Log), h.Log[len(h.Log)-1].Start)
	}
	// Past the start period, failures count while starting too.
	h = container.Health{Status: container.Starting}
	hc.apply(&h, result(t0.Add(11*time.Second), 1), t0)
	if !hc.apply(&h, result(t0.Add(12*time.Second), 1), t0) || h.Status != container.Unhealthy {
		t.Errorf("failures after the start period: %+v", h)
	}
}

func TestHealthNext(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	hc := healthCheck{Interval: 30 * time.Second, StartInterval: time.Second, StartPeriod: 10 * time.Second}
	for _, tc := range []struct {
		at     time.Duration
		status container.HealthStatus
		want   time.Duration
	}{
		{0, container.Starting, time.Second},
		{9 * time.Second, container.Starting, time.Second},
		{10 * time.Second, container.Starting, 30 * time.Second},
		{time.Second, container.Healthy, 30 * time.Second},
		{time.Second, container.Unhealthy, 30 * time.Second},
	} {
		if got := hc.next(t0, t0.Add(tc.at), tc.status); got != tc.want {
			t.Errorf("next at %v %s = %v, want %v", tc.at, tc.status, got, tc.want)
		}
	}
	hc.StartPeriod = 0
	if got := hc.next(t0, t0, container.Starting); got != 30*time.Second {
		t.Errorf("next without a start period = %v", got)
	}
}

// fakeHealth scripts the probes' exit codes and records what the loop
// does.
type fakeHealth struct {
	mu      sync.Mutex
	codes   []int // Guarded by mu: the next probes' exit codes.
	paused  bool  // Guarded by mu.
	running bool  // Guarded by mu.
	probes  int   // Guarded by mu.
	saved   []container.Health
	events  []container.HealthStatus
	block   chan struct{} // when set, a probe waits for ctx
}

func (f *fakeHealth) probe(ctx context.Context) *container.HealthcheckResult {
	f.mu.Lock()
	f.probes++
	code := 0
	if len(f.codes) > 0 {
		code, f.codes = f.codes[0], f.codes[1:]
	}
	if len(f.codes) == 0 {
		f.running = false // the script is done: the run ends
	}
	block := f.block
	f.mu.Unlock()
	if block != nil {
		close(block)
		<-ctx.Done()
	}
	return result(time.Now(), code)
}

func (f *fakeHealth) state() (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running, f.paused
}

func (f *fakeHealth) record(h container.Health, changed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, h)
	if changed {
		f.events = append(f.events, h.Status)
	}
}

func TestHealthLoop(t *testing.T) {
	hc := healthCheck{Interval: time.Millisecond, StartInterval: time.Millisecond, Retries: 2}
	f := &fakeHealth{running: true, codes: []int{1, 1, 1, 0, 1}}
	healthLoop(context.Background(), hc, time.Now(), container.Health{Status: container.Starting}, f)
	if f.probes != 5 || len(f.saved) != 5 {
		t.Fatalf("probes %d, saved %d, want 5", f.probes, len(f.saved))
	}
	if !slices.Equal(f.events, []container.HealthStatus{container.Unhealthy, container.Healthy}) {
		t.Errorf("events = %v", f.events)
	}
	last := f.saved[4]
	if last.Status != container.Healthy || last.FailingStreak != 1 || len(last.Log) != 5 {
		t.Errorf("last state = %+v", last)
	}
}

func TestHealthLoopPausedAndStopped(t *testing.T) {
	hc := healthCheck{Interval: time.Millisecond, StartInterval: time.Millisecond, Retries: 1}
	f := &fakeHealth{running: true, paused: true, codes: []int{1}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { healthLoop(ctx, hc, time.Now(), container.Health{Status: container.Starting}, f); close(done) }()
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	probes := f.probes
	f.block = make(chan struct{})
	f.paused = false
	block := f.block
	f.mu.Unlock()
	if probes != 0 {
		t.Errorf("%d probes of a paused container", probes)
	}
	<-block // a probe is under way: stopping kills it and drops its result
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end when stopped")
	}
	if len(f.saved) != 0 {
		t.Errorf("a stopped probe's result was kept: %+v", f.saved)
	}
}

func TestProbeOutput(t *testing.T) {
	o := &probeOutput{}
	o.Write([]byte("hello "))
	o.Write([]byte("world"))
	if got := o.String(); got != "hello world" {
		t.Errorf("output = %q", got)
	}
	o.Write([]byte(strings.Repeat("x", healthOutputMax)))
	if got := o.String(); len(got) != healthOutputMax+3 || !strings.HasPrefix(got, "hello world") || !strings.HasSuffix(got, "x...") {
		t.Errorf("long output = %d bytes, %q...", len(got), got[:20])
	}
}

// TestHealthRecords: inspect, ps and the health filter read the record;
// a run without a check has none; rm forgets it.
func TestHealthRecords(t *testing.T) {
	d := newContainerDaemon(t)
	id := create(t, d, "hc", container.Config{Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}}})
	r, err := d.lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	if d.healthOf(r) != nil || d.healthStatus(r) != "" || d.healthName(r) != "none" {
		t.Error("a container that never ran has a health")
	}
	for _, tc := range []struct {
		status container.HealthStatus
		suffix string
	}{{container.Starting, " (health: starting)"}, {container.Healthy, " (healthy)"}, {container.Unhealthy, " (unhealthy)"}} {
		rec := healthRecord{Health: container.Health{Status: tc.status, FailingStreak: 2}}
		if err := d.vmd.Put(healthKind, id, &rec); err != nil {
			t.Fatal(err)
		}
		if h := d.healthOf(r); h == nil || h.Status != tc.status || h.FailingStreak != 2 || h.Log == nil {
			t.Errorf("healthOf = %+v", h)
		}
		if got := d.healthStatus(r); got != tc.suffix {
			t.Errorf("healthStatus = %q, want %q", got, tc.suffix)
		}
		if got := d.healthName(r); got != string(tc.status) {
			t.Errorf("filter value = %q, want %s", got, tc.status)
		}
		if s := d.healthSummary(r); s == nil || s.Status != tc.status {
			t.Errorf("summary = %+v", s)
		}
	}
	if err := healthFilter([]string{"healthy", "none"}); err != nil {
		t.Error(err)
	}
	if err := healthFilter([]string{"sick"}); err == nil || !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("health=sick: %v", err)
	}
	d.healthRemove(id)
	if d.healthOf(r) != nil {
		t.Error("health kept after remove")
	}
}

// TestHealthStartStop: a check starts "starting", and its goroutine ends
// with the run (here: the container does not run at all) or with
// healthStop, leaving nothing in the table.
func TestHealthStartStop(t *testing.T) {
	d := newContainerDaemon(t)
	id := create(t, d, "hc", container.Config{Healthcheck: &container.HealthConfig{
		Test: []string{"CMD", "true"}, Interval: time.Millisecond, StartInterval: time.Millisecond}})
	none := create(t, d, "nohc", container.Config{})
	r, _ := d.lookup(id)
	d.healthStart(r)
	if h := d.healthOf(r); h == nil || h.Status != container.Starting {
		t.Fatalf("after start: %+v", h)
	}
	key := id
	if !waitUntil(time.Second, func() bool {
		d.health.mu.Lock()
		defer d.health.mu.Unlock()
		return d.health.m[key] == nil
	}) {
		t.Error("the monitor of a container that does not run goes on")
	}
	r.Config.Healthcheck.Interval = time.Hour
	d.healthRun(r, healthCheck{Interval: time.Hour}, container.Health{})
	d.healthStop(id)
	d.health.mu.Lock()
	n := d.health.m[key]
	d.health.mu.Unlock()
	if n != nil {
		t.Error("healthStop left its monitor")
	}
	rn, _ := d.lookup(none)
	d.healthStart(rn)
	if d.healthOf(rn) != nil {
		t.Error("a container without a check has a health")
	}
}

func waitUntil(timeout time.Duration, fn func() bool) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if fn() {
			return true
		}
	}
	return fn()
}
