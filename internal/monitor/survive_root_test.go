package monitor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestSurvivesKilledParent starts the monitor from a stand-in for pierd,
// SIGKILLs that process, and checks that the container keeps running and
// logging, and that its end is still recorded exactly.
func TestSurvivesKilledParent(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(h.bundle([]string{"sh", "-c", "while :; do echo tick; sleep 0.05; done"}, nil))
	path := writeMonitorConfig(t, cfg)
	pierd := exec.Command(os.Args[0])
	pierd.Env = append(os.Environ(), helperEnv+"="+path, "PIER_MONITOR_BIN="+h.monitor)
	if viaPark {
		pierd.Env = append(pierd.Env, parkEnv+"=1")
	}
	pierd.Stderr = os.Stderr
	out, err := pierd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := pierd.Start(); err != nil {
		t.Fatal(err)
	}
	var monPid, initPid int
	if _, err := fmt.Fscan(bufio.NewReader(out), &monPid, &initPid); err != nil {
		pierd.Process.Kill()
		pierd.Wait()
		t.Fatalf("fake pierd gave no pids: %v", err)
	}
	pierd.Process.Kill()
	pierd.Wait()

	if pid, err := ReadPid(cfg.MonitorPidFile); err != nil || pid != monPid {
		t.Errorf("monitor pid file: %d, %v; want %d", pid, err, monPid)
	}
	// The container outlives its starter, and its log keeps growing.
	size := logSize(t, cfg.LogPath)
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(initPid, 0); err != nil {
		t.Fatalf("container init %d after SIGKILL of its starter: %v", initPid, err)
	}
	if grown := logSize(t, cfg.LogPath); grown <= size {
		t.Errorf("log did not grow after the starter died: %d then %d bytes", size, grown)
	}
	if b, err := exec.Command(h.runtime, "--root", h.root, "kill", cfg.ID, "KILL").CombinedOutput(); err != nil {
		t.Fatalf("kill: %v: %s", err, b)
	}
	if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 137 || st.OOMKilled || st.Pid != initPid {
		t.Errorf("status %+v, want exit 137, not OOM-killed, pid %d", st, initPid)
	}
	// The orphaned monitor exits by itself once the status is written.
	waitGone(t, monPid)
}

func logSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// waitGone waits for pid to exit (a zombie counts as gone: it is not our
// child to reap).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || zombie(b) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("monitor %d still running after the container ended", pid)
}

func zombie(stat []byte) bool {
	for i := len(stat) - 1; i > 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == 'Z'
		}
	}
	return false
}
