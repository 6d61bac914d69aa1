package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor polls fn every 100 ms until it is true or timeout passes.
func waitFor(timeout time.Duration, fn func() bool) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if fn() {
			return true
		}
	}
	return fn()
}

// TestRestartPolicies: on-failure:2 runs a failing container three times
// and leaves it exited; always starts a container that ended well again.
func TestRestartPolicies(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	docker := dockers[0]
	t.Cleanup(func() { run(t, docker, "--host", d.host, "rm", "-f", "rf", "ra") })
	if code, out, errs := run(t, docker, "--host", d.host, "run", "-d", "--restart", "on-failure:2", "--name", "rf",
		"busybox", "sh", "-c", "echo ran; exit 1"); code != 0 {
		t.Fatalf("run rf = %d %q %q", code, out, errs)
	}
	if code, out, errs := run(t, docker, "--host", d.host, "run", "-d", "--restart", "always", "--name", "ra",
		"busybox", "sh", "-c", "sleep 0.2; exit 0"); code != 0 {
		t.Fatalf("run ra = %d %q %q", code, out, errs)
	}
	_, firstStart, _ := run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.StartedAt}}", "ra")
	var state string
	settled := waitFor(5*time.Second, func() bool {
		_, state, _ = run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", "rf")
		return state == "exited 1 2\n"
	})
	if !settled {
		t.Errorf("rf state = %q, want exited 1 2", state)
	}
	time.Sleep(500 * time.Millisecond) // a third restart would come within 400 ms
	if _, logs, _ := run(t, docker, "--host", d.host, "logs", "rf"); logs != "ran\nran\nran\n" {
		t.Errorf("rf logs = %q, want three runs", logs)
	}
	var start string
	if !waitFor(5*time.Second, func() bool {
		_, start, _ = run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.StartedAt}}", "ra")
		return start != firstStart && strings.TrimSpace(start) != ""
	}) {
		t.Errorf("ra was not restarted: StartedAt %q stays %q", start, firstStart)
	}
	// A user stop ends the always policy.
	if code, _, errs := run(t, docker, "--host", d.host, "stop", "ra"); code != 0 && !strings.Contains(errs, "not running") {
		t.Errorf("stop ra = %d %q", code, errs)
	}
	time.Sleep(time.Second)
	if _, st, _ := run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.Status}}", "ra"); st != "exited\n" {
		t.Errorf("ra after stop = %q, want exited", st)
	}
}

// TestManyContainersSurvivePierdKill: kill -9 of pierd with 20 containers
// running; the new pierd shows all 20 up, their logs go on across the
// kill, and docker stop ends each with 143.
func TestManyContainersSurvivePierdKill(t *testing.T) {
	const n = 20
	d := newPierd(t, "busybox", "overlay")
	dir := d.dir
	docker := dockers[0]
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("many%d", i)
	}
	t.Cleanup(func() { run(t, docker, append([]string{"--host", d.host, "rm", "-f"}, names...)...) })
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			if code, out, errs := run(t, docker, "--host", d.host, "run", "-d", "--init", "--name", name, "busybox",
				"sh", "-c", "echo before; while [ ! -e /after ]; do sleep 0.1; done; echo after; exec sleep 1000"); code != 0 {
				t.Errorf("run %s = %d %q %q", name, code, out, errs)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	_, ids, _ := run(t, docker, append([]string{"--host", d.host, "inspect", "-f", "{{.Id}}"}, names...)...)
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	// Each container writes "after" while no pierd runs.
	for _, id := range strings.Fields(ids) {
		if err := os.WriteFile(filepath.Join(d.root, "containers", id, "bundle", "rootfs", "after"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	d = startPierd(t, dir)
	if code, out, errs := run(t, docker, "--host", d.host, "ps", "--format", "{{.Names}} {{.Status}}"); code != 0 ||
		strings.Count(out, " Up ") != n {
		t.Errorf("ps after restart = %d %q %q, want %d Up", code, out, errs, n)
	}
	if code, out, errs := run(t, docker, append([]string{"--host", d.host, "stop"}, names...)...); code != 0 {
		t.Errorf("stop = %d %q %q", code, out, errs)
	}
	for _, name := range names {
		if _, out, _ := run(t, docker, "--host", d.host, "logs", name); out != "before\nafter\n" {
			t.Errorf("logs %s = %q", name, out)
		}
		if _, out, _ := run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name); out != "exited 143\n" {
			t.Errorf("inspect %s = %q", name, out)
		}
	}
}

// TestRestartAtBoot: a new pierd starts the always container the user
// stopped, as dockerd does, but not the unless-stopped one.
func TestRestartAtBoot(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dir := d.dir
	docker := dockers[0]
	for _, c := range [][2]string{{"ba", "always"}, {"bu", "unless-stopped"}} {
		if code, out, errs := run(t, docker, "--host", d.host, "run", "-d", "--init", "--restart", c[1], "--name", c[0],
			"busybox", "sleep", "1000"); code != 0 {
			t.Fatalf("run %s = %d %q %q", c[0], code, out, errs)
		}
	}
	if code, out, errs := run(t, docker, "--host", d.host, "stop", "ba", "bu"); code != 0 {
		t.Fatalf("stop = %d %q %q", code, out, errs)
	}
	d.stop(t)
	d = startPierd(t, dir)
	t.Cleanup(func() { run(t, docker, "--host", d.host, "rm", "-f", "ba", "bu") })
	var out string
	if !waitFor(5*time.Second, func() bool {
		_, out, _ = run(t, docker, "--host", d.host, "ps", "-a", "--format", "{{.Names}} {{.State}}")
		return strings.Contains(out, "ba running") && strings.Contains(out, "bu exited")
	}) {
		t.Errorf("ps after pierd restart = %q, want ba running and bu exited", out)
	}
}
