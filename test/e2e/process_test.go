package e2e_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestContainerIsAProcess: pause and unpause through the docker CLI,
// docker top with host pids, pier top's NSPID, pier ns's own namespaces,
// rename and restart.
func TestContainerIsAProcess(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	docker := dockers[0]
	dk := func(args ...string) (int, string, string) {
		return run(t, docker, append([]string{"--host", d.host}, args...)...)
	}
	code, out, errs := dk("run", "-d", "--name", "sp", "busybox", "sleep", "1000")
	id := strings.TrimSpace(out)
	if code != 0 || len(id) != 64 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { dk("rm", "-f", id) })
	state := func(ref string) string {
		_, out, _ := dk("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", ref)
		return strings.TrimSpace(out)
	}

	if code, _, errs := dk("pause", "sp"); code != 0 || !strings.HasPrefix(state("sp"), "paused ") {
		t.Errorf("pause = %d %q; state %q", code, errs, state("sp"))
	}
	if code, _, errs := dk("pause", "sp"); code == 0 || !strings.Contains(errs, "already paused") {
		t.Errorf("second pause = %d %q", code, errs)
	}
	if _, out, _ := dk("ps", "--format", "{{.Status}}"); !strings.Contains(out, "(Paused)") {
		t.Errorf("ps of paused = %q", out)
	}
	if code, _, errs := dk("unpause", "sp"); code != 0 || !strings.HasPrefix(state("sp"), "running ") {
		t.Errorf("unpause = %d %q; state %q", code, errs, state("sp"))
	}

	pid := strings.Fields(state("sp"))[1]
	// pier-init is the container's PID 1 (host pid State.Pid), which top
	// leaves out as dockerd shows no init it was not asked for; sleep is
	// its child (PPID State.Pid), a small pid inside, another outside.
	code, out, errs = dk("top", "sp")
	if code != 0 || !strings.Contains(out, "sleep 1000") || !strings.Contains(out, " "+pid+" ") || strings.Contains(out, "pier-init") {
		t.Errorf("docker top = %d %q %q; want sleep, its parent pid %s, no pier-init", code, out, errs, pid)
	}
	code, out, errs = run(t, pier, "-H", d.host, "top", "sp")
	if code != 0 || topNSPID(out, "/sbin/pier-init") != "" || !strings.Contains(out, " "+pid+" ") {
		t.Errorf("pier top = %d %q %q; want no pier-init row and sleep's parent pid %s", code, out, errs, pid)
	}
	if n, _ := strconv.Atoi(topNSPID(out, "sleep 1000")); n < 2 || n > 100 {
		t.Errorf("pier top: sleep's NSPID %d, want a small pid inside the container:\n%s", n, out)
	}

	code, out, errs = run(t, pier, "-H", d.host, "ns", "sp")
	if code != 0 {
		t.Fatalf("pier ns = %d %q", code, errs)
	}
	for _, typ := range []string{"mnt", "uts", "ipc", "pid", "net"} {
		host, _ := os.Readlink("/proc/self/ns/" + typ)
		line := nsLine(out, typ)
		if line == "" || strings.Contains(line, host) || strings.Contains(line, "shared") {
			t.Errorf("pier ns %s: %q, host's %s", typ, line, host)
		}
	}

	// inspect shows the process: its host pid, cgroup and namespaces.
	code, out, errs = run(t, pier, "-H", d.host, "inspect", "-f",
		"{{.Pier.Pid}} {{.Pier.CgroupPath}} {{.Pier.Namespaces.pid}} {{.Pier.Namespaces.mnt}}", "sp")
	f := strings.Fields(out)
	if code != 0 || len(f) != 4 || f[0] != pid {
		t.Fatalf("pier inspect Pier = %d %q %q, want pid %s first", code, out, errs, pid)
	}
	// The pids hierarchy on cgroup v1 and hybrid hosts, the only one on v2.
	cgDir := "/sys/fs/cgroup/pids" + f[1]
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cgDir = "/sys/fs/cgroup" + f[1]
	}
	if procs, err := os.ReadFile(cgDir + "/cgroup.procs"); err != nil || !strings.Contains("\n"+string(procs), "\n"+pid+"\n") {
		t.Errorf("init %s not in cgroup %s: %q %v", pid, cgDir, procs, err)
	}
	for i, typ := range []string{"pid", "mnt"} {
		if l, _ := os.Readlink("/proc/" + pid + "/ns/" + typ); l != f[2+i] {
			t.Errorf("inspect's %s namespace %q, /proc/%s/ns/%s is %q", typ, f[2+i], pid, typ, l)
		}
	}

	if code, _, errs := dk("rename", "sp", "tp"); code != 0 || state("tp") == "" {
		t.Errorf("rename = %d %q", code, errs)
	}
	// A paused container stops: pierd thaws it after the signal.
	dk("pause", "tp")
	start := time.Now()
	if code, _, errs := dk("stop", "-t", "1", "tp"); code != 0 || time.Since(start) > bound(5*time.Second) ||
		!strings.HasPrefix(state("tp"), "exited ") {
		t.Fatalf("stop of paused = %d %q in %v; state %q", code, errs, time.Since(start), state("tp"))
	}
	if code, _, errs := dk("start", "tp"); code != 0 {
		t.Fatalf("start = %d %q", code, errs)
	}
	before := strings.Fields(state("tp"))[1]
	if code, _, errs := dk("restart", "-t", "1", "tp"); code != 0 {
		t.Errorf("restart = %d %q", code, errs)
	}
	after := strings.Fields(state("tp"))
	if len(after) != 2 || after[0] != "running" || after[1] == before {
		t.Errorf("after restart %q, pid before %s", after, before)
	}
	if n, _ := strconv.Atoi(after[len(after)-1]); n <= 0 {
		t.Errorf("restarted pid %q", after)
	}
	if code, _, errs := dk("rm", "-f", "tp"); code != 0 {
		t.Errorf("rm -f = %d %q", code, errs)
	}
	noContainersLeft(t, d)
}

// topNSPID is the NSPID column of pier top's row whose CMD starts with
// cmd.
func topNSPID(out, cmd string) string {
	lines := strings.Split(out, "\n")
	titles := strings.Fields(lines[0])
	col, cmdCol := slices.Index(titles, "NSPID"), slices.Index(titles, "CMD")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if col >= 0 && cmdCol > col && len(f) > cmdCol && strings.HasPrefix(strings.Join(f[cmdCol:], " "), cmd) {
			return f[col]
		}
	}
	return ""
}

func nsLine(out, typ string) string {
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, typ+" -> ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
