package daemon

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// These tests drive the daemon's lifecycle against fakeOCI
// (lifecycle_fake_test.go): no root, no process, no mount.

// createHost is create with a HostConfig of the test's own.
func createHost(t *testing.T, d *Daemon, name string, cfg container.Config, host container.HostConfig) string {
	t.Helper()
	cfg.Image = "img"
	host.NetworkMode = "none"
	resp, err := d.ContainerCreate(context.Background(), name, container.CreateRequest{Config: &cfg, HostConfig: &host})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return resp.ID
}

func state(t *testing.T, d *Daemon, ref string) container.InspectResponse {
	t.Helper()
	c, err := d.ContainerInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond for up to 5 s: on a quiet machine it holds within
// milliseconds, but a loaded one must not make the test flaky.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

func wantCalls(t *testing.T, f *fakeOCI, id string, want ...string) {
	t.Helper()
	if got := f.called(id); !slices.Equal(got, want) {
		t.Errorf("runtime calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestLifecycleStartStop(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "web", container.Config{})
	if err := d.ContainerStart(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	c := state(t, d, "web")
	if !c.State.Running || c.State.Pid != f.init(id).pid || !f.isMounted(d.paths(id).rootfs) {
		t.Fatalf("after start: %+v, rootfs mounted %v", c.State, f.isMounted(d.paths(id).rootfs))
	}
	if err := d.ContainerStart(ctx, "web"); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second start: %v, want ErrAlreadyExists", err)
	}
	if err := d.ContainerStop(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	// Stop returns once the end is recorded and the rootfs unmounted.
	c = state(t, d, "web")
	if c.State.Running || c.State.Status != container.StateExited || c.State.ExitCode != 143 || f.isMounted(d.paths(id).rootfs) {
		t.Errorf("after stop: %+v", c.State)
	}
	if err := d.ContainerStop(ctx, "web", nil); !errors.Is(err, errdefs.ErrNotRunning) {
		t.Errorf("stop of a stopped container: %v, want ErrNotRunning", err)
	}
	wantCalls(t, f, id, "create", "start", "kill SIGTERM", "delete -f")
	// It starts again, a new run.
	if err := d.ContainerStart(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerRemove(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ContainerInspect(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("inspect after rm -f: %v", err)
	}
	wantCalls(t, f, id, "create", "start", "kill SIGTERM", "delete -f", "create", "start", "kill KILL", "delete -f")
}

func TestLifecycleStopEscalatesToKill(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "stubborn", container.Config{})
	f.set(id, behaviour{ignoreTerm: true})
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	timeout := 0
	t0 := time.Now()
	if err := d.ContainerStop(ctx, id, &timeout); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("stop with timeout 0 took %v", el)
	}
	if c := state(t, d, id); c.State.ExitCode != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", c.State.ExitCode)
	}
	wantCalls(t, f, id, "create", "start", "kill SIGTERM", "kill KILL", "delete -f")
	// kill with a signal the runtime refuses is the client's error.
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerKill(ctx, id, "BOGUS"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("kill BOGUS: %v, want ErrInvalidArgument", err)
	}
	if err := d.ContainerKill(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	w, err := d.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	if err != nil || w.StatusCode != 137 {
		t.Errorf("wait after kill = %+v, %v", w, err)
	}
}

func TestLifecycleFailedStart(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	id := create(t, d, "broken", container.Config{})
	f.set(id, behaviour{failStart: errors.New(`exec: "/hello": executable file not found in $PATH`)})
	if err := d.ContainerStart(context.Background(), id); err == nil {
		t.Fatal("start succeeded")
	}
	c := state(t, d, id)
	if c.State.Running || c.State.ExitCode != 127 || !strings.Contains(c.State.Error, "executable file not found") {
		t.Errorf("after a failed start: %+v", c.State)
	}
	if f.isMounted(d.paths(id).rootfs) {
		t.Error("rootfs left mounted after a failed start")
	}
}

func TestLifecycleRestartPolicies(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	// on-failure:1 restarts a failing run once (after 100 ms), then no more.
	once := createHost(t, d, "flaky", container.Config{}, container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 1}})
	f.set(once, behaviour{exitAt: 1 + 3})
	// always restarts a clean exit, but not after the user's stop.
	always := createHost(t, d, "always", container.Config{}, container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways}})
	for _, id := range []string{once, always} {
		if err := d.ContainerStart(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	f.exit(always, 0)
	eventually(t, "always restarted", func() bool {
		c := state(t, d, always)
		return c.State.Running && c.RestartCount == 1
	})
	eventually(t, "on-failure restarted once", func() bool {
		c := state(t, d, once)
		return !c.State.Running && c.RestartCount == 1 && len(f.called(once)) == 6
	})
	wantCalls(t, f, once, "create", "start", "delete -f", "create", "start", "delete -f")
	if c := state(t, d, once); c.State.ExitCode != 3 {
		t.Errorf("on-failure exit code %d, want 3", c.State.ExitCode)
	}
	if err := d.ContainerStop(ctx, always, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * restartFirstDelay / 2) // past the back-off a restart would take
	if c := state(t, d, always); c.State.Running || c.RestartCount != 1 {
		t.Errorf("always after the user's stop: running %v, restarts %d", c.State.Running, c.RestartCount)
	}
}

func TestLifecyclePauseUnpause(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "frozen", container.Config{})
	if err := d.ContainerPause(ctx, id); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("pause of a created container: %v, want conflict", err)
	}
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerPause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if c := state(t, d, id); c.State.Status != container.StatePaused || !c.State.Paused || !c.State.Running {
		t.Errorf("paused: %+v", c.State)
	}
	if err := d.ContainerUnpause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if c := state(t, d, id); c.State.Status != container.StateRunning || c.State.Paused {
		t.Errorf("unpaused: %+v", c.State)
	}
	// A stop of a paused container thaws it, or its init would never
	// act on the signal.
	if err := d.ContainerPause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerStop(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	c := state(t, d, id)
	if c.State.Running || c.State.Paused || c.State.ExitCode != 143 {
		t.Errorf("stopped while paused: %+v", c.State)
	}
	wantCalls(t, f, id, "create", "start", "pause", "resume", "pause", "kill SIGTERM", "resume", "delete -f")
}

func TestLifecycleExec(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "box", container.Config{})
	if _, err := d.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: []string{"true"}}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("exec in a created container: %v, want conflict", err)
	}
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cmd  []string
		code int
		out  string
	}{
		{[]string{"echo", "hi", "there"}, 0, "hi there\n"},
		{[]string{"false"}, 1, ""},
		{[]string{"nonesuch"}, 127, ""},
	} {
		eid, err := d.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: c.cmd, AttachStdout: true})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := d.ExecStart(ctx, eid, false, nil, &out, nil); err != nil {
			t.Fatal(err)
		}
		in, err := d.ExecInspect(ctx, eid)
		if err != nil || in.Running || in.ExitCode == nil || *in.ExitCode != c.code || in.Pid == 0 || out.String() != c.out {
			t.Errorf("exec %v: %+v, output %q (%v)", c.cmd, in, out.String(), err)
		}
		if err := d.ExecStart(ctx, eid, false, nil, nil, nil); !errors.Is(err, errdefs.ErrConflict) {
			t.Errorf("second start of exec %v: %v, want conflict", c.cmd, err)
		}
	}
	// Stdin goes through a pipe of its own.
	eid, _ := d.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: []string{"cat"}, AttachStdin: true, AttachStdout: true})
	var out bytes.Buffer
	if err := d.ExecStart(ctx, eid, false, strings.NewReader("piped"), &out, nil); err != nil || out.String() != "piped" {
		t.Errorf("exec cat: %q, %v", out.String(), err)
	}
	// A paused container takes no exec: the runtime's message goes to
	// the client's stderr and the exec ends 126, as with dockerd.
	if err := d.ContainerPause(ctx, id); err != nil {
		t.Fatal(err)
	}
	eid, _ = d.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: []string{"true"}, AttachStderr: true})
	var stderr bytes.Buffer
	if err := d.ExecStart(ctx, eid, false, nil, nil, &stderr); err != nil || !strings.Contains(stderr.String(), "paused") {
		t.Errorf("exec in a paused container: %v, stderr %q", err, stderr.String())
	}
	if in, _ := d.ExecInspect(ctx, eid); in.ExitCode == nil || *in.ExitCode != 126 {
		t.Errorf("failed exec: %+v", in)
	}
	if n := len(f.called("exec")); n != 5 {
		t.Errorf("%d execs reached the runtime, want 5", n)
	}
}

func TestLifecycleTopStatsUpdate(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "busy", container.Config{})
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	var got container.StatsResponse
	if err := d.ContainerStats(ctx, id, false, func(s container.StatsResponse) error { got = s; return nil }); err != nil {
		t.Fatal(err)
	}
	if got.PidsStats.Current != 1 || got.MemoryStats.Usage != 4096 {
		t.Errorf("stats = %+v", got)
	}
	pids, err := d.containerPids(ctx, id)
	if err != nil || len(pids) != 1 || pids[0] != f.init(id).pid {
		t.Errorf("pids = %v, %v", pids, err)
	}
	pl := int64(20)
	if _, err := d.ContainerUpdate(ctx, id, container.UpdateConfig{Resources: container.Resources{Memory: 1 << 20, PidsLimit: &pl}}); err != nil {
		t.Fatal(err)
	}
	if c := state(t, d, id); c.HostConfig.Memory != 1<<20 {
		t.Errorf("recorded memory %d", c.HostConfig.Memory)
	}
	wantCalls(t, f, id, "create", "start", "events --stats", "ps", "update --memory 1048576 --pids-limit 20")
}

func TestLifecycleHealth(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	check := func(name string, test []string, timeout time.Duration) string {
		id := create(t, d, name, container.Config{Healthcheck: &container.HealthConfig{
			Test: test, Interval: 5 * time.Millisecond, Timeout: timeout, Retries: 1}})
		if err := d.ContainerStart(ctx, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	healthy := check("healthy", []string{"CMD", "true"}, time.Second)
	sick := check("sick", []string{"CMD", "false"}, time.Second)
	slow := check("slow", []string{"CMD", "sleep"}, 20*time.Millisecond)
	statusOf := func(id string) (container.HealthStatus, []*container.HealthcheckResult) {
		h := state(t, d, id).State.Health
		if h == nil {
			return "", nil
		}
		return h.Status, h.Log
	}
	eventually(t, "healthy", func() bool { s, _ := statusOf(healthy); return s == container.Healthy })
	eventually(t, "unhealthy", func() bool { s, _ := statusOf(sick); return s == container.Unhealthy })
	eventually(t, "timed out", func() bool { s, _ := statusOf(slow); return s == container.Unhealthy })
	if _, log := statusOf(slow); len(log) == 0 || log[0].ExitCode != -1 || !strings.Contains(log[0].Output, "exceeded timeout") {
		t.Errorf("slow probe's log: %+v", log)
	}
	if _, log := statusOf(sick); len(log) == 0 || log[0].ExitCode != 1 {
		t.Errorf("failing probe's log: %+v", log)
	}
	// A stopped container is probed no more.
	if err := d.ContainerStop(ctx, healthy, nil); err != nil {
		t.Fatal(err)
	}
	n := len(f.called(healthy))
	time.Sleep(20 * time.Millisecond)
	if m := len(f.called(healthy)); m != n {
		t.Errorf("%d probes after stop", m-n)
	}
	for _, id := range []string{sick, slow} {
		if err := d.ContainerRemove(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLifecycleStopAfterItsEnd: a stop, kill or remove that looked while the
// container ran but takes its exit waiter after the end was recorded must
// not wait for a waiter nobody will close (a CRI StopPodSandbox hung so).
func TestLifecycleStopAfterItsEnd(t *testing.T) {
	t.Parallel()
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "quick", container.Config{})
	f.set(id, behaviour{exitAt: 1 + 0})
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ContainerWait(ctx, id, container.WaitConditionNotRunning); err != nil {
		t.Fatal(err)
	}
	if _, running := d.exitOfRunning(id); running {
		t.Fatal("exitOfRunning says running after the end was recorded")
	}
	done := make(chan error, 1)
	go func() { done <- d.ContainerStop(ctx, id, nil) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop of an ended container still waiting after 5 s")
	}
}
