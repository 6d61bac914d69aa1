package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDockerRun runs containers with the real docker CLIs: output through
// attach, exit codes through wait, --rm through AutoRemove.
func TestDockerRun(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	for _, docker := range dockers {
		t.Run(docker, func(t *testing.T) {
			if _, err := os.Stat(docker); err != nil {
				t.Skipf("%s: no such docker CLI here: %v", docker, err)
			}
			code, out, errs := run(t, docker, "--host", d.host, "run", "--rm", "busybox", "echo", "hello")
			if code != 0 || out != "hello\n" {
				t.Errorf("run echo hello = %d %q %q", code, out, errs)
			}
			code, out, errs = run(t, docker, "--host", d.host, "run", "--rm", "busybox", "sh", "-c", "echo oops >&2; exit 3")
			if code != 3 || errs != "oops\n" || out != "" {
				t.Errorf("run exit 3 = %d %q %q", code, out, errs)
			}
		})
	}
	noContainersLeft(t, d)
}

// TestDockerDetached drives a detached container through ps, logs, stop,
// inspect and rm.
func TestDockerDetached(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	docker := dockers[0]
	dk := func(args ...string) (int, string, string) {
		return run(t, docker, append([]string{"--host", d.host}, args...)...)
	}
	code, out, errs := dk("run", "-d", "--name", "sleeper", "busybox", "sh", "-c", "echo started; exec sleep 1000")
	id := strings.TrimSpace(out)
	if code != 0 || len(id) != 64 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { dk("rm", "-f", id) })
	if code, out, errs := dk("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"); code != 0 ||
		!strings.HasPrefix(out, id[:12]+" sleeper Up ") {
		t.Errorf("ps = %d %q %q", code, out, errs)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out, errs = dk("logs", "sleeper")
		if out == "started\n" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 0 || out != "started\n" {
		t.Errorf("logs = %d %q %q", code, out, errs)
	}
	if code, out, _ := dk("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", "sleeper"); code != 0 || !strings.HasPrefix(out, "true ") ||
		strings.TrimSpace(out) == "true 0" {
		t.Errorf("inspect running = %d %q", code, out)
	}
	start := time.Now()
	if code, out, errs := dk("stop", "sleeper"); code != 0 || out != "sleeper\n" {
		t.Errorf("stop = %d %q %q", code, out, errs)
	}
	// pier-init is PID 1: SIGTERM reaches sleep, no 10 s SIGKILL timeout.
	if took := time.Since(start); took > time.Second {
		t.Errorf("stop took %v", took)
	}
	if code, out, _ := dk("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}", "sleeper"); code != 0 ||
		out != "exited 143 false\n" {
		t.Errorf("inspect after stop = %d %q", code, out)
	}
	if code, out, errs := dk("ps", "-a", "--format", "{{.Names}} {{.Status}}"); code != 0 || !strings.HasPrefix(out, "sleeper Exited (143) ") {
		t.Errorf("ps -a = %d %q %q", code, out, errs)
	}
	if code, out, errs := dk("rm", "sleeper"); code != 0 || out != "sleeper\n" {
		t.Errorf("rm = %d %q %q", code, out, errs)
	}
	if code, _, errs := dk("inspect", "sleeper"); code == 0 || !strings.Contains(errs, "No such") {
		t.Errorf("inspect after rm = %d %q", code, errs)
	}
	noContainersLeft(t, d)
}

// TestDockerOOM: the OOM killer's kill is exit 137 with OOMKilled true,
// from the cgroup's counter.
func TestDockerOOM(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	docker := dockers[0]
	code, out, errs := run(t, docker, "--host", d.host, "run", "--name", "hog", "-m", "16m", "busybox",
		"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	if code != 137 {
		t.Errorf("run -m 16m dd = %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", "hog"); code != 0 || out != "137 true\n" {
		t.Errorf("inspect = %d %q", code, out)
	}
	if code, _, errs := run(t, docker, "--host", d.host, "rm", "hog"); code != 0 {
		t.Errorf("rm = %d %q", code, errs)
	}
	noContainersLeft(t, d)
}

// noContainersLeft checks that removed containers left no directory.
func noContainersLeft(t *testing.T, d *pierd) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(d.root, "containers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("container directory left: %s", e.Name())
	}
}

// TestContainerSurvivesPierdKill: kill -9 of pierd leaves the container
// running; the restarted pierd re-adopts it with its logs and exit code.
func TestContainerSurvivesPierdKill(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dir := d.dir
	docker := dockers[0]
	code, out, errs := run(t, docker, "--host", d.host, "run", "-d", "--name", "survivor", "busybox",
		"sh", "-c", "echo one; sleep 0.5; echo two; exec sleep 1000")
	if code != 0 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	time.Sleep(time.Second) // "two" is written while no pierd runs
	d = startPierd(t, dir)
	t.Cleanup(func() { run(t, docker, "--host", d.host, "rm", "-f", "survivor") })
	if code, out, errs := run(t, docker, "--host", d.host, "ps", "--format", "{{.Names}} {{.State}}"); code != 0 || out != "survivor running\n" {
		t.Errorf("ps after restart = %d %q %q", code, out, errs)
	}
	if code, out, errs := run(t, docker, "--host", d.host, "stop", "survivor"); code != 0 {
		t.Errorf("stop = %d %q %q", code, out, errs)
	}
	// Following the log of an exited container ends at once.
	if code, out, errs := run(t, docker, "--host", d.host, "logs", "-f", "survivor"); code != 0 || out != "one\ntwo\n" {
		t.Errorf("logs -f = %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "survivor"); out != "exited 143\n" {
		t.Errorf("inspect = %d %q", code, out)
	}
	if code, _, errs := run(t, docker, "--host", d.host, "rm", "survivor"); code != 0 {
		t.Errorf("rm = %d %q", code, errs)
	}
	noContainersLeft(t, d)
}

// TestStopWithoutInitWaitsForTimeout: with --init=false, sleep is PID 1,
// which the kernel spares SIGTERM, so stop waits its timeout and kills —
// Docker's behaviour, and why pier-init is the default.
func TestStopWithoutInitWaitsForTimeout(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := func(args ...string) (int, string, string) {
		return run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
	}
	for _, c := range []struct {
		init     string
		min, max time.Duration
		exit     string
	}{
		{"--init=false", 2 * time.Second, 6 * time.Second, "137"},
		{"--init=true", 0, time.Second, "143"},
	} {
		code, out, errs := dk("run", "-d", "--network", "none", c.init, "busybox", "sleep", "1000")
		id := strings.TrimSpace(out)
		if code != 0 || len(id) != 64 {
			t.Fatalf("run -d %s = %d %q %q", c.init, code, out, errs)
		}
		start := time.Now()
		if code, _, errs := dk("stop", "-t", "2", id); code != 0 {
			t.Errorf("stop %s = %d %q", c.init, code, errs)
		}
		took := time.Since(start)
		if took < c.min || took > c.max {
			t.Errorf("stop -t 2 with %s took %v, want %v..%v", c.init, took, c.min, c.max)
		}
		if _, out, _ := dk("inspect", "-f", "{{.State.ExitCode}}", id); strings.TrimSpace(out) != c.exit {
			t.Errorf("exit code with %s = %q, want %s", c.init, out, c.exit)
		}
		dk("rm", "-f", id)
	}
	noContainersLeft(t, d)
}
