package monitor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// viaPark makes the harness start each monitor parked first, then hand
// it its container (Parked.Start), as pierd's pool does.
var viaPark bool

// startMonitor starts cfg's monitor fresh, or through a parked one.
func (h *harness) startMonitor(cfg Config) (*Monitor, error) {
	path := filepath.Join(filepath.Dir(cfg.LogPath), "monitor.json")
	if !viaPark {
		return Start(h.monitor, path, cfg, os.Stderr)
	}
	p, err := Park(h.monitor, os.Stderr)
	if err != nil {
		return nil, err
	}
	return p.Start(path, cfg)
}

// TestParkedPath runs the suite's main cases again through parked
// monitors: the parked image must behave as a fresh one in every way
// (stdio, exit codes, errors, OOM, terminal, stdin, rollback, handover).
func TestParkedPath(t *testing.T) {
	rerunMainCases(t, &viaPark, map[string]func(*testing.T){
		"HandoverKeepsLogAndStdin": TestHandoverKeepsLogAndStdin,
		"SurvivesKilledParent":     TestSurvivesKilledParent,
	})
}

// TestPoolUsesParkedMonitor starts containers through a Pool: the first
// start parks the next monitor, the second start is that very process
// (its pid), with the readiness pipe passed on; Close then ends and reaps
// the one parked meanwhile, and nothing is left (the harness's leak
// check).
func TestPoolUsesParkedMonitor(t *testing.T) {
	h := newHarness(t)
	pool := NewPool(h.monitor, os.Stderr)
	defer pool.Close()
	if pool.ParkedPid() != 0 {
		t.Fatal("a pool parks before its first start")
	}
	first := h.config(h.bundle([]string{"true"}, nil))
	m1, err := pool.Start(filepath.Join(filepath.Dir(first.LogPath), "monitor.json"), first)
	if err != nil {
		t.Fatal(err)
	}
	reap(t, m1)
	parked := waitParked(t, pool)

	cfg := h.config(h.bundle([]string{"sh", "-c", "echo parked; exec sleep 60"}, nil))
	cfg.InitReady = true // fd 3 of the container
	m2, err := pool.Start(filepath.Join(filepath.Dir(cfg.LogPath), "monitor.json"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m2.Wait() }() // whatever fails below: h.config's cleanup kills the container
	if m2.Pid != parked {
		t.Errorf("second start ran in monitor %d, want the parked %d", m2.Pid, parked)
	}
	if err := m2.WaitReady(100 * time.Millisecond); err == nil {
		t.Error("readiness pipe at EOF while the container holds it")
	}
	// The handover to the watch image still happens, with the container's
	// config on its command line (where pierd and the bench find it).
	waitWatching(t, m2.Pid)
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", m2.Pid))
	if !strings.Contains(string(b), cfg.ID) {
		t.Errorf("watch image's command line %q does not name the container's config", b)
	}
	if b, err := exec.Command(h.runtime, "--root", h.root, "kill", cfg.ID, "KILL").CombinedOutput(); err != nil {
		t.Fatalf("kill: %v: %s", err, b)
	}
	if err := <-done; err != nil {
		t.Errorf("monitor: %v", err)
	}
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 137 {
		t.Errorf("status %+v, want exit 137", st)
	}
	if es := readLog(t, cfg.LogPath); len(es) != 1 || string(es[0].Line) != "parked\n" {
		t.Errorf("log %+v, want one line \"parked\"", es)
	}
	next := waitParked(t, pool)
	if err := pool.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := syscall.Kill(next, 0); err == nil {
		t.Errorf("parked monitor %d still there after Close (reaped, it must be gone)", next)
	}
}

func reap(t *testing.T, m *Monitor) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("monitor: %v", err)
		}
	case <-time.After(10 * time.Second):
		syscall.Kill(m.Pid, syscall.SIGKILL)
		t.Fatalf("monitor %d did not end", m.Pid)
	}
}

func waitParked(t *testing.T, pool *Pool) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if pid := pool.ParkedPid(); pid != 0 {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the pool parked no monitor after a start")
	return 0
}

// TestParkedMonitorEndsWithPierd SIGKILLs a stand-in for pierd that has a
// monitor parked: the parked monitor, which has no container, must exit
// at once by itself.
func TestParkedMonitorEndsWithPierd(t *testing.T) {
	h := newHarness(t)
	pierd := exec.Command(os.Args[0])
	pierd.Env = append(os.Environ(), helperEnv+"="+parkOnly, "PIER_MONITOR_BIN="+h.monitor)
	pierd.Stderr = os.Stderr
	out, err := pierd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := pierd.Start(); err != nil {
		t.Fatal(err)
	}
	var parked int
	_, err = fmt.Fscan(bufio.NewReader(out), &parked)
	exe := exeOf(parked)
	pierd.Process.Kill()
	pierd.Wait()
	if err != nil {
		t.Fatalf("fake pierd gave no pid: %v", err)
	}
	if exe != "pier-monitor" {
		t.Fatalf("parked pid %d runs %q, want pier-monitor", parked, exe)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", parked))
		if err != nil || zombie(b) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(parked, syscall.SIGKILL)
	t.Errorf("parked monitor %d still running 2 s after its pierd was killed", parked)
}

// parkOnly, as helperEnv's value, makes the fake pierd park a monitor,
// print its pid and wait to be killed.
const parkOnly = "park"

func fakePierdParked() int {
	p, err := Park(os.Getenv("PIER_MONITOR_BIN"), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d\n", p.Pid())
	select {}
}

// writeMonitorConfig writes cfg where a fake pierd reads it.
func writeMonitorConfig(t *testing.T, cfg Config) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(cfg.LogPath), "monitor.json")
	b, err := json.Marshal(cfg)
	if err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}
