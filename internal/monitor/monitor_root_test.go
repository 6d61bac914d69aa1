package monitor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/testutil"
)

var seq atomic.Int64

// harness runs containers of one test through pier-monitor and
// pier-runtime, with everything under a temp dir.
type harness struct {
	t       *testing.T
	runtime string
	monitor string
	root    string
	dir     string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox")
	testutil.CheckLeaks(t)
	return &harness{
		t:       t,
		runtime: testutil.Binary(t, "pier-runtime"),
		monitor: testutil.Binary(t, "pier-monitor"),
		root:    t.TempDir(),
		dir:     t.TempDir(),
	}
}

// config is a monitor Config for a new container of bundle; the
// container's cgroup is pier/<id> so that its oom_kill counter is known.
func (h *harness) config(bundle string) Config {
	id := fmt.Sprintf("mon%d-%d", os.Getpid(), seq.Add(1))
	h.t.Cleanup(func() {
		_ = exec.Command(h.runtime, "--root", h.root, "delete", "-f", id).Run()
	})
	d := filepath.Join(h.dir, id)
	if err := os.Mkdir(d, 0o700); err != nil {
		h.t.Fatal(err)
	}
	exe := h.runtime // pierd's path for pier-runtime: the runtime in-process
	if viaCLI {
		exe = ""
	}
	return Config{
		Runtime: h.runtime, RuntimeRoot: h.root, RuntimeLog: filepath.Join(d, "runtime.log"), RuntimeExe: exe,
		ID: id, Bundle: bundle,
		LogPath: filepath.Join(d, "json.log"), StatusFile: filepath.Join(d, "status.json"),
		PidFile: filepath.Join(d, "init.pid"), MonitorPidFile: filepath.Join(d, "monitor.pid"),
		Cgroups: []string{"/sys/fs/cgroup/memory/pier/" + id, "/sys/fs/cgroup/pier/" + id},
	}
}

func (h *harness) bundle(args []string, edit func(*specs.Spec)) string {
	return testutil.Bundle(h.t, args, edit)
}

// start starts a monitor from the test process and reaps it at the end.
func (h *harness) start(cfg Config) *Monitor {
	h.t.Helper()
	mon, err := h.startMonitor(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mon.Wait() }()
	h.t.Cleanup(func() {
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("monitor: %v", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Errorf("monitor %d still running", mon.Pid)
			syscall.Kill(mon.Pid, syscall.SIGKILL)
		}
	})
	return mon
}

func waitStatus(t *testing.T, path string) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ReadStatus(path)
		if err == nil {
			return st
		}
		if !errors.Is(err, errdefs.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("status: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readLog(t *testing.T, path string) []logfile.Entry {
	t.Helper()
	var out []logfile.Entry
	err := logfile.Read(context.Background(), path, logfile.ReadOptions{Tail: -1}, func(e logfile.Entry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogsBothStreamsAndExitCode(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(h.bundle([]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, nil))
	h.start(cfg)
	st := waitStatus(t, cfg.StatusFile)
	if st.ExitCode != 3 || st.OOMKilled || st.Error != "" {
		t.Errorf("status %+v, want exit 3, not OOM-killed, no error", st)
	}
	if st.FinishedAt.Before(st.StartedAt) || st.StartedAt.IsZero() {
		t.Errorf("status times: started %v, finished %v", st.StartedAt, st.FinishedAt)
	}
	got := map[string]string{}
	for _, e := range readLog(t, cfg.LogPath) {
		got[e.Stream] += string(e.Line)
	}
	if got["stdout"] != "out\n" || got["stderr"] != "err\n" {
		t.Errorf("log streams %q, want stdout \"out\\n\" and stderr \"err\\n\"", got)
	}
	// Docker's json-file format, byte for byte apart from the time.
	b, err := os.ReadFile(cfg.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if !dockerLine.MatchString(sc.Text()) {
			t.Errorf("log line %q is not Docker's json-file format", sc.Text())
		}
	}
	waitFileGone(t, cfg.MonitorPidFile)
}

// waitFileGone waits for the monitor's pid file to go: the monitor removes it
// just after writing the status the test waited for (and a status write
// ends with a directory fsync).
func waitFileGone(t *testing.T, path string) {
	t.Helper()
	gone := func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }
	for deadline := time.Now().Add(2 * time.Second); !gone() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !gone() {
		t.Error("monitor pid file left 2 s after the exit status")
	}
}

func TestMissingCommandExits127(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(h.bundle([]string{"sh", "-c", "no-such-command"}, nil))
	h.start(cfg)
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 127 || st.OOMKilled {
		t.Errorf("status %+v, want exit 127", st)
	}
}

func TestCreateFailureIsReported(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(h.bundle([]string{"/no/such/program"}, nil))
	cfg.Bundle = filepath.Join(h.dir, "no-bundle")
	_, err := Start(h.monitor, filepath.Join(filepath.Dir(cfg.LogPath), "monitor.json"), cfg, nil)
	if err == nil {
		t.Fatal("a missing bundle started")
	}
	if _, serr := os.Stat(cfg.StatusFile); !os.IsNotExist(serr) {
		t.Errorf("a container that never started has a status file: %v", serr)
	}
	if !strings.Contains(err.Error(), cfg.Bundle) {
		t.Errorf("error %q does not carry the runtime's reason (the bundle %s)", err, cfg.Bundle)
	}
}

func TestOOMKilled(t *testing.T) {
	h := newHarness(t)
	testutil.Requires(t, "cgroup1")
	limit := int64(16 << 20)
	cfg := h.config(h.bundle([]string{"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}, func(s *specs.Spec) {
		swap := limit
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &swap}
	}))
	h.start(cfg)
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 137 || !st.OOMKilled {
		t.Errorf("status %+v, want exit 137 and oomKilled", st)
	}
}
