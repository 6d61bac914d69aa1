package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestShouldRestart(t *testing.T) {
	onFailure2 := container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 2}
	for _, c := range []struct {
		name    string
		p       container.RestartPolicy
		code    int
		count   int
		stopped bool
		want    bool
	}{
		{"no", container.RestartPolicy{Name: container.RestartPolicyDisabled}, 1, 0, false, false},
		{"empty", container.RestartPolicy{}, 1, 0, false, false},
		{"always after success", container.RestartPolicy{Name: container.RestartPolicyAlways}, 0, 50, false, true},
		{"always stopped by user", container.RestartPolicy{Name: container.RestartPolicyAlways}, 143, 0, true, false},
		{"unless-stopped", container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}, 0, 3, false, true},
		{"unless-stopped stopped", container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}, 0, 0, true, false},
		{"on-failure success", onFailure2, 0, 0, false, false},
		{"on-failure first", onFailure2, 1, 0, false, true},
		{"on-failure second", onFailure2, 1, 1, false, true},
		{"on-failure exhausted", onFailure2, 1, 2, false, false},
		{"on-failure unlimited", container.RestartPolicy{Name: container.RestartPolicyOnFailure}, 2, 100, false, true},
		{"on-failure stopped", onFailure2, 143, 0, true, false},
	} {
		if got := shouldRestart(c.p, c.code, c.count, c.stopped); got != c.want {
			t.Errorf("%s: shouldRestart(%+v, %d, %d, %v) = %v, want %v", c.name, c.p, c.code, c.count, c.stopped, got, c.want)
		}
	}
}

func TestNextDelay(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct{ prev, ran, want time.Duration }{
		{0, 0, 100 * ms},
		{100 * ms, time.Second, 200 * ms},
		{200 * ms, 9 * time.Second, 400 * ms},
		{40 * time.Second, 0, time.Minute},
		{time.Minute, 0, time.Minute},
		{time.Minute, 10 * time.Second, 100 * ms},
		{800 * ms, time.Hour, 100 * ms},
	} {
		if got := nextDelay(c.prev, c.ran); got != c.want {
			t.Errorf("nextDelay(%v, %v) = %v, want %v", c.prev, c.ran, got, c.want)
		}
	}
}

func TestStoppedByUser(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if (restartRecord{}).stoppedByUser(start) {
		t.Error("no stop recorded: stopped")
	}
	if !(restartRecord{StoppedAt: start.Add(time.Second)}).stoppedByUser(start) {
		t.Error("stop during the run: not stopped")
	}
	if (restartRecord{StoppedAt: start.Add(-time.Second)}).stoppedByUser(start) {
		t.Error("stop before a later start: still stopped")
	}
}

// Removing a container drops its restart record, which a stop wrote.
func TestRemoveForgetsRestartRecord(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	for _, policy := range []container.RestartPolicyMode{container.RestartPolicyDisabled, container.RestartPolicyAlways} {
		resp, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &container.Config{Image: "img"},
			HostConfig: &container.HostConfig{NetworkMode: "none", RestartPolicy: container.RestartPolicy{Name: policy}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ContainerStart(ctx, resp.ID); err != nil {
			t.Fatal(err)
		}
		d.markStoppedByUser(resp.ID)
		if ids, _ := d.md.List(restartKind); len(ids) != 1 {
			t.Fatalf("restart records after a stop: %v", ids)
		}
		if err := d.ContainerRemove(ctx, resp.ID, true); err != nil {
			t.Fatal(err)
		}
		if ids, err := d.md.List(restartKind); err != nil || len(ids) != 0 {
			t.Errorf("policy %q: restart records after remove: %v, %v", policy, ids, err)
		}
	}
}
