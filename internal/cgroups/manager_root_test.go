package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/cgroups/fscommon"
	"github.com/pier-engine/pier/internal/testutil"
)

// Root tests use the machine's real cgroups, always under
// <hierarchy>/pier/test-<random>, and check every directory is gone after.

func realManager(t *testing.T) Manager {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "cgroup2") // any layout with a cgroup2 tree: hybrid here, v2 in the VM
	testutil.CheckLeaks(t)
	m, err := New(Config{Path: fmt.Sprintf("test-%d-%x", os.Getpid(), rand.Uint32())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		for ctrl, dir := range m.Paths() {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s: %s still there after Destroy", ctrl, dir)
			}
		}
	})
	return m
}

// child is a shell script run as a child process; it reads a line from
// stdin before each step, so the test moves it into the cgroup first.
type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
}

func startChild(t *testing.T, script string) *child {
	t.Helper()
	c := &child{cmd: exec.Command("/bin/sh", "-c", script), stderr: &bytes.Buffer{}}
	c.cmd.Stderr = c.stderr
	// Grandchildren keep the stderr pipe open; Wait must not wait for them.
	c.cmd.WaitDelay = 100 * time.Millisecond
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.out = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// step lets the script go on past one read and returns its next line.
func (c *child) step(t *testing.T) string {
	t.Helper()
	if _, err := io.WriteString(c.in, "go\n"); err != nil {
		t.Fatalf("child stdin: %v (stderr %q)", err, c.stderr)
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child stdout: %v (stderr %q)", err, c.stderr)
	}
	return strings.TrimSpace(line)
}

// killedBy waits for the child and reports whether sig ended it.
func (c *child) killedBy(sig syscall.Signal) bool {
	c.cmd.Wait()
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

func readFile(t *testing.T, dir, file string) string {
	t.Helper()
	s, err := fscommon.ReadFile(dir, file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(s)
}

func procState(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i > 0 && len(s) > i+2 {
		return s[i+2 : i+3]
	}
	return ""
}

// TestRealLifecycle runs the whole Manager on this machine's layout.
func TestRealLifecycle(t *testing.T) {
	m := realManager(t)
	c := startChild(t, "read x; echo ready; exec sleep 60")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range m.Paths() {
		if !strings.Contains(" "+strings.ReplaceAll(readFile(t, dir, "cgroup.procs"), "\n", " ")+" ", fmt.Sprintf(" %d ", c.pid())) {
			t.Errorf("%s: pid %d not in %s/cgroup.procs", ctrl, c.pid(), dir)
		}
	}
	c.step(t)
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(128 << 20)},
		Pids:   &specs.LinuxPids{Limit: i64(10)},
		CPU:    &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000)},
	}
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ limit, swap int64 }{{256 << 20, 512 << 20}, {32 << 20, 48 << 20}} {
		res.Memory = &specs.LinuxMemory{Limit: i64(l.limit), Swap: i64(l.swap)}
		if err := m.Set(res); err != nil {
			t.Fatalf("update to %+v: %v", l, err)
		}
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.Limit != 32<<20 || st.Pids.Limit != 10 || st.Pids.Current != 1 {
		t.Errorf("Stats() = %+v, want memory limit 32M, pids 1 of 10", st)
	}
	testFreeze(t, m, c.pid())
	if err := m.KillAll(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !c.killedBy(syscall.SIGKILL) {
		t.Errorf("child not killed by SIGKILL: %v", c.cmd.ProcessState)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func testFreeze(t *testing.T, m Manager, pid int) {
	t.Helper()
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if s, err := m.FreezerState(); err != nil || s != "frozen" {
		t.Errorf("FreezerState() = %q, %v after Freeze", s, err)
	}
	if _, v1 := m.Paths()["freezer"]; v1 && procState(pid) != "D" {
		t.Errorf("frozen v1 task in state %q, want D", procState(pid))
	}
	if d := m.Paths()[""]; !v1Freezer(m) {
		if ev := readFile(t, d, "cgroup.events"); !strings.Contains(ev, "frozen 1") {
			t.Errorf("cgroup.events = %q after Freeze", ev)
		}
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if s, err := m.FreezerState(); err != nil || s != "thawed" {
		t.Errorf("FreezerState() = %q, %v after Thaw", s, err)
	}
	if st := procState(pid); st == "D" || st == "" {
		t.Errorf("thawed task in state %q", st)
	}
}

func v1Freezer(m Manager) bool { _, ok := m.Paths()["freezer"]; return ok }

// TestRealPidsLimit: forks beyond pids.max fail.
func TestRealPidsLimit(t *testing.T) {
	m := realManager(t)
	// The forks run in a subshell: a failed fork ends a dash script.
	c := startChild(t, "read x; (for i in 1 2 3 4 5 6; do sleep 30 & done; wait); echo forked")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(3)}}); err != nil {
		t.Fatal(err)
	}
	c.step(t)
	procs, err := m.Procs()
	if err != nil {
		t.Fatal(err)
	}
	dir, ok := m.Paths()["pids"]
	if !ok {
		dir = m.Paths()[""]
	}
	events, err := fscommon.GetKeyValue(dir, "pids.events")
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) > 3 || events["max"] == 0 {
		t.Errorf("with pids.max 3: processes %v, pids.events %v; want at most 3 and failed forks", procs, events)
	}
	if err := m.KillAll(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { p, err := m.Procs(); return err == nil && len(p) == 0 }, "the sleeps to die")
}

// TestRealDevices: a deny-all device list stops opening /dev/null, an
// update allowing it lets it through (v1 lists, or the v2 eBPF filter).
func TestRealDevices(t *testing.T) {
	m := realManager(t)
	c := startChild(t, "while read x; do if echo hi > /dev/null; then echo ok; else echo denied; fi; done")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		rules []specs.LinuxDeviceCgroup
		want  string
	}{
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 5, "rwm")}, "denied"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "rwm")}, "ok"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "rwm"), dev(false, "c", 1, 3, "w")}, "denied"},
		{[]specs.LinuxDeviceCgroup{dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "w")}, "ok"},
	} {
		if err := m.Set(&specs.LinuxResources{Devices: step.rules}); err != nil {
			t.Fatal(err)
		}
		if got := c.step(t); got != step.want {
			t.Errorf("rules %+v: writing /dev/null: %s, want %s", step.rules, got, step.want)
		}
	}
}

// TestRealOOM: a process over memory.max is OOM-killed and counted.
func TestRealOOM(t *testing.T) {
	m := realManager(t)
	c := startChild(t, "read x; head -c 256m /dev/zero | tail > /dev/null; echo survived $?")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(16 << 20), Swap: i64(16 << 20)}}); err != nil {
		t.Fatal(err)
	}
	if got := c.step(t); got != "survived 137" {
		t.Errorf("tail over the limit: %q, want killed (137)", got)
	}
	if n, err := m.OOMKillCount(); err != nil || n < 1 {
		t.Errorf("OOMKillCount() = %d, %v; want >= 1", n, err)
	}
}

// TestRealHybridUnified checks the cgroup2 core files of the hybrid layout
// live: membership, cgroup.freeze, cgroup.events and cgroup.kill.
func TestRealHybridUnified(t *testing.T) {
	m := realManager(t)
	if m.Mode() != Hybrid {
		t.Skipf("layout is %v, not hybrid", m.Mode())
	}
	testutil.Requires(t, "cgroup1")
	dir := m.Paths()[""]
	c := startChild(t, "read x; exec sleep 60")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "cgroup.procs"); got != strconv.Itoa(c.pid()) {
		t.Errorf("%s/cgroup.procs = %q, want %d", dir, got, c.pid())
	}
	if ev := readFile(t, dir, "cgroup.events"); !strings.Contains(ev, "populated 1") {
		t.Errorf("cgroup.events = %q, want populated 1", ev)
	}
	if err := freezeV2(dir, true); err != nil {
		t.Fatal(err)
	}
	if ev := readFile(t, dir, "cgroup.events"); !strings.Contains(ev, "frozen 1") {
		t.Errorf("cgroup.events = %q after cgroup.freeze 1", ev)
	}
	if err := freezeV2(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := m.KillAll(unix.SIGKILL); err != nil { // cgroup.kill, there being a cgroup2 tree
		t.Fatal(err)
	}
	if !c.killedBy(syscall.SIGKILL) {
		t.Errorf("child not killed: %v", c.cmd.ProcessState)
	}
	waitFor(t, func() bool { return strings.Contains(readFile(t, dir, "cgroup.events"), "populated 0") }, "populated 0")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestRealV2Files checks the v2 translations on a v2-only machine (the VM
// of vmtest.sh): cpu.weight, cpu.max, memory, pids, io and unified keys.
func TestRealV2Files(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "cgroup2-controllers")
	m := realManager(t)
	dir := m.Paths()[""]
	c := startChild(t, "read x; exec sleep 60")
	if err := m.Apply(c.pid()); err != nil {
		t.Fatal(err)
	}
	res := &specs.LinuxResources{
		CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Cpus: "0"},
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(96 << 20), Reservation: i64(1 << 20)},
		Pids:    &specs.LinuxPids{Limit: i64(10)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500)},
		Unified: map[string]string{"memory.high": "50331648"},
	}
	want := map[string]string{"cpu.weight": "39", "cpu.max": "50000 100000", "cpuset.cpus": "0", "memory.max": "67108864",
		"memory.swap.max": "33554432", "memory.low": "1048576", "pids.max": "10", "memory.high": "50331648"}
	if _, err := os.Stat(filepath.Join(dir, "io.weight")); err == nil {
		want["io.weight"] = "default 4950" // 1 + (500-10)*9999/990
	} else if _, err := os.Stat(filepath.Join(dir, "io.bfq.weight")); err == nil {
		want["io.bfq.weight"] = "default 500"
	} else {
		res.BlockIO = nil
		t.Log("no io.weight or io.bfq.weight here: io weights not checked")
	}
	if maj, min, ok := blockDevice(); ok {
		res.BlockIO = &specs.LinuxBlockIO{Weight: res.BlockIO.Weight, ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 1 << 20}}}
		want["io.max"] = fmt.Sprintf("%d:%d rbps=1048576 wbps=max riops=max wiops=max", maj, min)
	} else {
		t.Log("no block device: io.max not checked")
	}
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	for file, v := range want {
		if got := readFile(t, dir, file); got != v {
			t.Errorf("%s = %q, want %q", file, got, v)
		}
	}
	if err := m.KillAll(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !c.killedBy(syscall.SIGKILL) {
		t.Errorf("child not killed: %v", c.cmd.ProcessState)
	}
}

// blockDevice finds a block device's major:minor, for io.max: a disk, or
// a loop device (vmtest.sh loads the loop module in the diskless VM).
func blockDevice() (int64, int64, bool) {
	devs, _ := filepath.Glob("/sys/block/*/dev")
	for _, d := range devs {
		b, err := os.ReadFile(d)
		var maj, min int64
		if err == nil {
			if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &maj, &min); err == nil {
				return maj, min, true
			}
		}
	}
	return 0, 0, false
}

// TestRealNestedDestroy: a relative a/b path leaves no empty pier-owned
// parent behind, and the shared pier parent stays.
func TestRealNestedDestroy(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "cgroup2")
	testutil.CheckLeaks(t)
	parent := fmt.Sprintf("test-%d-%x", os.Getpid(), rand.Uint32())
	m, err := New(Config{Path: parent + "/nested"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(0); err != nil {
		m.Destroy()
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range m.Paths() {
		if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
			t.Errorf("%s: parent %s left behind", ctrl, filepath.Dir(dir))
		}
		if _, err := os.Stat(filepath.Dir(filepath.Dir(dir))); err != nil {
			t.Errorf("%s: the pier parent is gone: %v", ctrl, err)
		}
	}
}
