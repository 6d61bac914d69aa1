package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestParkedMonitor: after a container's start pierd keeps a monitor
// parked (`pier-monitor --park`, its child, in its own session and in
// pierd's cgroups), and the
// next container runs under that very process; pierd's SIGTERM ends and
// reaps the parked one, and after pierd's SIGKILL it exits by itself.
// The leak check covers everything else.
func TestParkedMonitor(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	mustRun(t, pier, "-H", d.host, "run", "--rm", "--network", "none", "busybox", "true")
	parked := waitParked(t, d.cmd.Process.Pid, 0)
	if sid, _ := unix.Getsid(parked); sid != parked {
		t.Errorf("parked monitor %d is in session %d, want its own", parked, sid)
	}
	// In pierd's cgroups, as a monitor spawned at the start would be.
	pc, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", d.cmd.Process.Pid))
	mc, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", parked))
	if len(pc) == 0 || !bytes.Equal(pc, mc) {
		t.Errorf("parked monitor's cgroups:\n%s\nwant pierd's:\n%s", mc, pc)
	}
	mustRun(t, pier, "-H", d.host, "run", "-d", "--network", "none", "--name", "warm", "busybox", "sleep", "1000")
	pid := strings.TrimSpace(mustRun(t, pier, "-H", d.host, "inspect", "-f", "{{.State.Pid}}", "warm"))
	if mon := ppid(t, pid); mon != parked {
		t.Errorf("container warm's monitor is %d, want the parked %d", mon, parked)
	}
	next := waitParked(t, d.cmd.Process.Pid, parked)
	mustRun(t, pier, "-H", d.host, "rm", "-f", "warm")
	d.stop(t)
	if err := syscall.Kill(next, 0); err == nil {
		t.Errorf("parked monitor %d still there after pierd stopped", next)
	}

	d = startPierd(t, d.dir)
	mustRun(t, pier, "-H", d.host, "run", "--rm", "--network", "none", "busybox", "true")
	parked = waitParked(t, d.cmd.Process.Pid, 0)
	d.cmd.Process.Kill()
	<-d.done
	waitExited(t, parked)
	startPierd(t, d.dir) // takes down what the killed pierd left (its stop runs at cleanup)
}

// waitParked is the pid of pierd's parked monitor other than not.
func waitParked(t *testing.T, pierd, not int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == not {
				continue
			}
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if bytes.HasSuffix(cmd, []byte("\x00--park\x00")) && ppid(t, e.Name()) == pierd {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pierd %d has no parked monitor (other than %d)", pierd, not)
	return 0
}

// ppid is pid's parent, 0 if it is gone.
func ppid(t *testing.T, pid string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, _ := strconv.Atoi(f[1])
	return n
}

// waitExited waits for pid, not our child, to exit (a zombie counts).
func waitExited(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[0] == "Z" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("parked monitor %d still running 3 s after pierd's SIGKILL", pid)
}
