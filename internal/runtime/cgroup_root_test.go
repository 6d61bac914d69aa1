package runtime_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

const mib = 1 << 20

// cgroupV2 reports whether cgroup v2 is the only hierarchy, as in the VM
// of scripts/vmtest.sh; the dev machines are hybrid, with the limits in v1.
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// requiresLimits skips t unless the machine's main hierarchy can enforce
// limits: v1 controllers, or cgroup v2 with its controllers enabled.
func requiresLimits(t *testing.T) {
	t.Helper()
	if cgroupV2() {
		testutil.Requires(t, "cgroup2-controllers")
	} else {
		testutil.Requires(t, "cgroup1")
	}
}

// cgFile is the path of a file of the container's cgroup: in the v1
// hierarchy of ctrl, or in the one v2 directory.
func cgFile(id, ctrl, file string) string {
	if cgroupV2() {
		return filepath.Join("/sys/fs/cgroup/pier", id, file)
	}
	return filepath.Join("/sys/fs/cgroup", ctrl, "pier", id, file)
}

// memLimitFile is the name of the memory limit's file.
func memLimitFile() string {
	if cgroupV2() {
		return "memory.max"
	}
	return "memory.limit_in_bytes"
}

// freezerState reads the container's freezer as v1 names it, FROZEN or
// THAWED; in v2 it is the "frozen" key of cgroup.events.
func freezerState(t *testing.T, id string) string {
	t.Helper()
	if !cgroupV2() {
		return readTrim(t, cgFile(id, "freezer", "freezer.state"))
	}
	for _, l := range lines(readTrim(t, cgFile(id, "", "cgroup.events"))) {
		switch l {
		case "frozen 1":
			return "FROZEN"
		case "frozen 0":
			return "THAWED"
		}
	}
	t.Fatalf("no frozen key in %s", cgFile(id, "", "cgroup.events"))
	return ""
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func limitMemory(limit int64) func(*specs.Spec) {
	return func(s *specs.Spec) {
		swap := limit
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &swap}
	}
}

func TestMemoryLimitOOMKillsRun(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	b := testutil.Bundle(t, []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}, limitMemory(16*mib))
	if _, stderr, code := r.run("run", "--bundle", b, r.id()); code != 137 {
		t.Fatalf("64 MiB in a 16 MiB container: exit %d, want 137 (SIGKILL by the OOM killer): %s", code, stderr)
	}
}

// statsEvent is the part of an `events` line these tests read.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		OOMKill uint64
		Memory  struct{ Limit uint64 }
		Pids    struct{ Current, Limit uint64 }
	} `json:"data"`
}

func TestOOMShowsInEvents(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	script := "dd if=/dev/zero of=/dev/null bs=64M count=1; exec sleep 1000"
	b := testutil.Bundle(t, sh(script), limitMemory(16*mib))
	id := r.id()
	r.ok("create", "--bundle", b, id)

	// The event stream, started before the program, must report the OOM.
	evOut := filepath.Join(t.TempDir(), "events")
	f, err := os.Create(evOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ev := exec.Command(r.bin, "--root", r.root, "events", "--interval", "1h", id)
	ev.Stdout, ev.Stderr = f, f
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	evDone := make(chan error, 1)
	go func() { evDone <- ev.Wait() }()
	defer func() {
		_ = ev.Process.Kill()
		<-evDone
	}()
	waitFor(t, "the first stats event", func() bool { return len(eventsOf(t, evOut, "stats")) > 0 })

	r.ok("start", id)
	waitFor(t, "an oom event", func() bool { return len(eventsOf(t, evOut, "oom")) > 0 })
	var st statsEvent
	if err := json.Unmarshal([]byte(r.ok("events", "--stats", id)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != "stats" || st.ID != id || st.Data.OOMKill < 1 {
		t.Errorf("events --stats after an OOM kill: %+v, want type stats, id %s, OOMKill >= 1", st, id)
	}
	if st.Data.Memory.Limit != 16*mib {
		t.Errorf("events --stats: memory limit %d, want %d", st.Data.Memory.Limit, 16*mib)
	}
	// The container lives on (the shell exec'd sleep); stopping it ends
	// the stream.
	r.ok("kill", id, "KILL")
	select {
	case err := <-evDone:
		evDone <- err
		if err != nil {
			t.Errorf("events after the container stopped: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("events still running 5 s after the container stopped")
	}
}

// eventsOf returns the events of type typ written so far to path.
func eventsOf(t *testing.T, path, typ string) []statsEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []statsEvent
	s := bufio.NewScanner(f)
	for s.Scan() {
		var e statsEvent
		if json.Unmarshal(s.Bytes(), &e) == nil && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestPidsLimitStopsForks(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	// busybox sh gives up at the first fork that fails; the numbers it
	// printed say how far it got.
	script := "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 1000 & done; echo all"
	b := testutil.Bundle(t, sh(script), func(s *specs.Spec) {
		limit := int64(5)
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &limit}
	})
	out, stderr, code := r.run("run", "--bundle", b, r.id())
	if code == 0 || !strings.Contains(stderr, "fork") {
		t.Errorf("10 forks under pids.limit 5: exit %d, stderr %q; want a fork failure", code, stderr)
	}
	// The shell is one of the five: at most four sleeps start.
	if got := lines(out); len(got) > 5 || strings.Contains(out, "all") {
		t.Errorf("10 forks under pids.limit 5: the shell got through %q", got)
	}
}

// The limit binds the user's program, not the runtime's own set-up: the
// container process runs Go (several threads) until it execs, so the
// limit must be written after that set-up, as runc does at procReady.
func TestTinyPidsLimitStillCreates(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	b := testutil.Bundle(t, []string{"echo", "ok"}, func(s *specs.Spec) {
		limit := int64(1)
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &limit}
	})
	for i := 0; i < 3; i++ {
		out, stderr, code := r.run("run", "--bundle", b, r.id())
		if code != 0 || strings.TrimSpace(out) != "ok" {
			t.Fatalf("echo under pids.limit 1: exit %d, stdout %q, stderr %.300q", code, out, stderr)
		}
	}
}

// procState is the state letter of /proc/PID/stat.
func procState(t *testing.T, pid int) string {
	t.Helper()
	s := readTrim(t, "/proc/"+strconv.Itoa(pid)+"/stat")
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return f[0]
}

func TestPauseAndResume(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	// A busy loop is always running (R) unless frozen.
	b := testutil.Bundle(t, sh("while :; do :; done"), nil)
	id, pid := r.runDetached(b)
	waitFor(t, "the loop to run", func() bool { return procState(t, pid) == "R" })

	r.ok("pause", id)
	if s := r.state(id); s.Status != "paused" {
		t.Errorf("state after pause: %s, want paused", s.Status)
	}
	if got := freezerState(t, id); got != "FROZEN" {
		t.Errorf("freezer state %s, want FROZEN", got)
	}
	// A frozen task is never scheduled: look a few times.
	for i := 0; i < 5; i++ {
		if st := procState(t, pid); st == "R" {
			t.Fatalf("paused container's process %d is in state R", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, stderr, code := r.run("pause", id); code == 0 {
		t.Errorf("pause of a paused container succeeded")
	} else if !strings.Contains(stderr, "paused") {
		t.Errorf("pause of a paused container: %q does not say it is paused", stderr)
	}

	r.ok("resume", id)
	if s := r.state(id); s.Status != "running" {
		t.Errorf("state after resume: %s, want running", s.Status)
	}
	if got := freezerState(t, id); got != "THAWED" {
		t.Errorf("freezer state %s after resume, want THAWED", got)
	}
	waitFor(t, "the loop to run again", func() bool { return procState(t, pid) == "R" })
	if _, stderr, code := r.run("resume", id); code == 0 || !strings.Contains(stderr, "not paused") {
		t.Errorf("resume of a running container: exit %d %q", code, stderr)
	}
}

func TestUpdateChangesLimits(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id, _ := r.runDetached(b)
	memName := memLimitFile()
	memFile, pidsFile := cgFile(id, "memory", memName), cgFile(id, "pids", "pids.max")
	check := func(when, mem, pids string) {
		t.Helper()
		if got := readTrim(t, memFile); got != mem {
			t.Errorf("%s: %s %s, want %s", when, memName, got, mem)
		}
		if got := readTrim(t, pidsFile); got != pids {
			t.Errorf("%s: pids.max %s, want %s", when, got, pids)
		}
	}

	r.ok("update", "--memory", strconv.Itoa(32*mib), "--pids-limit", "7", id)
	check("update --memory --pids-limit", strconv.Itoa(32*mib), "7")

	if out, stderr, code := r.runIn([]byte(`{"memory":{"limit":67108864},"pids":{"limit":9}}`), "update", "--resources", "-", id); code != 0 {
		t.Fatalf("update --resources -: exit %d: %s%s", code, out, stderr)
	}
	check("update --resources -", strconv.Itoa(64*mib), "9")

	type badUpdate struct {
		name  string
		stdin string
		args  []string
		want  string
	}
	bad := []badUpdate{
		{"swap below limit", "", []string{"--memory", strconv.Itoa(32 * mib), "--memory-swap", strconv.Itoa(16 * mib), "--pids-limit", "3"}, "memory.swap"},
		{"cpu shares out of range", `{"pids":{"limit":3},"cpu":{"shares":1}}`, []string{"--resources", "-"}, "cpu.shares"},
		{"unknown field", `{"pids":{"limit":3},"memroy":{}}`, []string{"--resources", "-"}, "memroy"},
		{"not a number", "", []string{"--pids-limit", "many"}, "pids-limit"},
		// Refused by the kernel, not the validator.
		{"negative memory", "", []string{"--memory", "-5"}, memName},
	}
	if !cgroupV2() {
		// v1 refuses a limit below the current usage; v2 takes it and
		// reclaims, or OOM-kills the container.
		bad = append(bad, badUpdate{"memory below usage", "", []string{"--memory", "4096", "--pids-limit", "3"}, memName})
	}
	for _, c := range bad {
		var stdin []byte
		if c.stdin != "" {
			stdin = []byte(c.stdin)
		}
		_, stderr, code := r.runIn(stdin, append(append([]string{"update"}, c.args...), id)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("update with %s: exit %d %q, want an error naming %s", c.name, code, stderr, c.want)
		}
		check("after a refused update ("+c.name+")", strconv.Itoa(64*mib), "9")
	}
}

// Inside the container /sys/fs/cgroup is its own cgroup, read-only, with
// its limits: on v2 a cgroup2 mount made in the container's cgroup
// namespace; on v1 a tmpfs with one mount per hierarchy.
func TestContainerSeesItsOwnCgroup(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	limitFile, fsType := "/sys/fs/cgroup/memory/memory.limit_in_bytes", "tmpfs"
	if cgroupV2() {
		limitFile, fsType = "/sys/fs/cgroup/memory.max", "cgroup2"
	}
	script := "cat " + limitFile + "; mkdir /sys/fs/cgroup/x 2>/dev/null && echo writable || echo read-only; " +
		"grep ' /sys/fs/cgroup ' /proc/self/mounts | cut -d' ' -f3; cat /proc/self/cgroup"
	b := testutil.Bundle(t, sh(script), limitMemory(32*mib))
	out, stderr, code := r.run("run", "--bundle", b, r.id())
	got := lines(out)
	if code != 0 || len(got) < 4 {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if got[0] != strconv.Itoa(32*mib) {
		t.Errorf("%s in the container: %s, want %d", limitFile, got[0], 32*mib)
	}
	if got[1] != "read-only" {
		t.Errorf("mkdir in the container's /sys/fs/cgroup: %s, want read-only", got[1])
	}
	if got[2] != fsType {
		t.Errorf("/sys/fs/cgroup in the container is %s, want %s", got[2], fsType)
	}
	// The cgroup namespace makes the container's cgroup its root.
	for _, l := range got[3:] {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("/proc/self/cgroup line %q, want the namespace root /", l)
		}
	}
}

// The device controller (v1 devices.deny, v2 an eBPF program) lets the
// container open the default devices and nothing else: the host's
// /dev/kmsg (1:11) bind-mounted in cannot be opened. (Opened for writing,
// which needs no capability, so EPERM can only come from the cgroup.)
func TestDeviceCgroupDeniesUnlistedDevices(t *testing.T) {
	r := newRT(t)
	requiresLimits(t)
	script := "(echo pier-test >/denied) 2>&1 | grep -o 'Operation not permitted' || echo opened; " +
		"echo x >/dev/null && echo null-ok"
	b := testutil.Bundle(t, sh(script), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/denied", Type: "bind", Source: "/dev/kmsg", Options: []string{"bind"}})
	})
	out, stderr, code := r.run("run", "--bundle", b, r.id())
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, out, stderr)
	}
	if got := lines(out); len(got) != 2 || got[0] != "Operation not permitted" || got[1] != "null-ok" {
		t.Errorf("open of an unlisted device, then /dev/null: %q, want [Operation not permitted null-ok]", got)
	}
}
