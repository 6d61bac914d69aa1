package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/ociruntime"
)

// seamCase is a running container for testRuntimeSeam: its runtime, id and
// init pid, the process its execs start from, and a directory for their
// files. Its init runs `sleep` and its rootfs has busybox's echo, true,
// false and sleep.
type seamCase struct {
	rt   ociRuntime
	id   string
	pid  int
	proc specs.Process
	dir  string
}

// testRuntimeSeam is the conformance suite of ociRuntime: what the daemon
// relies on, checked against the real runtime (runtime_seam_root_test.go)
// and the fake the lifecycle tests use, so that the fake cannot drift.
func testRuntimeSeam(t *testing.T, c seamCase) {
	ctx := context.Background()
	pids, err := c.rt.Ps(ctx, c.id)
	if err != nil || !slices.Contains(pids, c.pid) {
		t.Errorf("ps = %v, %v; want the init's pid %d among them", pids, err, c.pid)
	}
	var st cgroups.Stats
	if err := c.rt.Stats(ctx, c.id, &st); err != nil || st.Pids.Current < 1 {
		t.Errorf("stats = %+v, %v", st.Pids, err)
	}
	if err := c.rt.Update(ctx, c.id, ociruntime.Resources{PidsLimit: 64}); err != nil {
		t.Errorf("update: %v", err)
	}
	exec := func(name string, group bool, out *bytes.Buffer, args ...string) ociruntime.Process {
		t.Helper()
		p := c.proc
		p.Args = args
		o := ociruntime.ExecOpts{
			Process: &p, ProcessFile: filepath.Join(c.dir, name+".json"), PidFile: filepath.Join(c.dir, name+".pid"),
			Group: group,
		}
		if out != nil { // not a nil *bytes.Buffer in an io.Writer
			o.Stdout, o.Stderr = out, out
		}
		proc, err := c.rt.Exec(ctx, c.id, o)
		if err != nil {
			t.Fatalf("exec %v: %v", args, err)
		}
		return proc
	}
	var out bytes.Buffer
	if code, err := exec("echo", false, &out, "echo", "hi").Wait(); code != 0 || err != nil || out.String() != "hi\n" {
		t.Errorf("exec echo hi: %d, %v, output %q", code, err, out.String())
	}
	if code, err := exec("false", false, nil, "false").Wait(); code != 1 || err != nil {
		t.Errorf("exec false: %d, %v", code, err)
	}
	sleeper := exec("sleep", true, nil, "sleep", "100")
	waitPidFile(t, filepath.Join(c.dir, "sleep.pid"))
	killed := make(chan int, 1)
	go func() { code, _ := sleeper.Wait(); killed <- code }()
	sleeper.Kill()
	select {
	case code := <-killed:
		if code != 128+9 {
			t.Errorf("killed exec's status %d, want 137", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a killed exec still runs")
	}

	if err := c.rt.Pause(ctx, c.id); err != nil {
		t.Fatalf("pause: %v", err)
	}
	out.Reset()
	if code, _ := exec("paused", false, &out, "true").Wait(); code == 0 || out.Len() == 0 {
		t.Errorf("exec in a paused container: status %d, output %q; want a failure and its reason", code, out.String())
	}
	if _, err := os.Stat(filepath.Join(c.dir, "paused.pid")); err == nil {
		t.Error("a refused exec wrote a pid file")
	}
	if err := c.rt.Resume(ctx, c.id); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if err := c.rt.Resume(ctx, c.id); err == nil {
		t.Error("resume of a running container succeeded")
	}
	if err := c.rt.Kill(ctx, c.id, "BOGUS"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("kill BOGUS: %v, want ErrInvalidArgument", err)
	}
	if err := c.rt.Kill(ctx, c.id, "KILL"); err != nil {
		t.Fatalf("kill KILL: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.rt.Kill(ctx, c.id, "KILL") == nil {
		if time.Now().After(deadline) {
			t.Fatal("the container still takes signals 5 s after SIGKILL")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.rt.Ps(ctx, "nonesuch"); err == nil {
		t.Error("ps of an unknown container succeeded")
	}
}

func waitPidFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if _, err := monitor.ReadPid(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
	}
}

func TestFakeRuntimeConforms(t *testing.T) {
	f := newFakeOCI()
	dir := t.TempDir()
	m, err := f.startMonitor(filepath.Join(dir, "monitor.json"), monitor.Config{ID: "c1", StatusFile: filepath.Join(dir, "status.json")})
	if err != nil {
		t.Fatal(err)
	}
	testRuntimeSeam(t, seamCase{rt: f, id: "c1", pid: m.containerPid, dir: dir})
	if err := m.wait(); err != nil {
		t.Fatal(err)
	}
	st, err := monitor.ReadStatus(filepath.Join(dir, "status.json"))
	if err != nil || st.ExitCode != 137 {
		t.Errorf("status = %+v, %v; want 137", st, err)
	}
}

// bundleProcess is the process of the bundle in dir.
func bundleProcess(t *testing.T, dir string) specs.Process {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return *s.Process
}
