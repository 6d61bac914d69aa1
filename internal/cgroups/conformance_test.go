package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The conformance suite runs every test against a fake tree of each mode:
// the same resources in, the mode's files out.

var allModes = []Mode{V1, V2, Hybrid}

// fakePid can never be a real pid (pid_max is at most 2^22), so nothing a
// test writes in a fake tree can signal a real process.
const fakePid = 999999999

func forEachMode(t *testing.T, fn func(t *testing.T, f *fakeFS)) {
	for _, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) { fn(t, newFake(t, mode)) })
	}
}

func (f *fakeFS) manager(cfg Config) Manager {
	f.t.Helper()
	cfg.Root = f.root
	m, err := New(cfg)
	if err != nil {
		f.t.Fatalf("New(%+v): %v", cfg, err)
	}
	if m.Mode() != f.mode {
		f.t.Fatalf("Mode() = %v, want %v", m.Mode(), f.mode)
	}
	return m
}

// exit empties cgroup.procs everywhere under m, as the kernel does when the
// processes are gone.
func (f *fakeFS) exit(m Manager) {
	for _, dir := range m.Paths() {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.WriteFile(filepath.Join(p, "cgroup.procs"), nil, 0o644)
			}
			return nil
		})
	}
}

func TestPaths(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		for _, tc := range []struct{ path, id, want string }{
			{"", "c1", "pier/c1"},
			{"a/b", "c1", "pier/a/b"},
			{"/abs/x", "c1", "abs/x"},
			{"/abs/../y", "c1", "y"},
		} {
			paths := f.manager(Config{Path: tc.path, ID: tc.id}).Paths()
			want := map[string]string{}
			for ctrl, hier := range map[Mode]map[string]string{
				V1: {"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct", "memory": "memory", "hugetlb": "hugetlb"},
				V2: {"": ""}, Hybrid: {"": "unified", "memory": "memory", "cpu": "cpu"},
			}[f.mode] {
				want[ctrl] = filepath.Join(f.root, hier, tc.want)
			}
			for ctrl, dir := range want {
				if paths[ctrl] != dir {
					t.Errorf("Path %q: Paths()[%q] = %q, want %q", tc.path, ctrl, paths[ctrl], dir)
				}
			}
		}
		for _, bad := range []Config{{ID: ""}, {ID: "a/b"}, {Path: "../x"}, {Path: "a/../.."}, {Path: "/"}} {
			bad.Root = f.root
			if _, err := New(bad); err == nil {
				t.Errorf("New(%+v) succeeded", bad)
			}
		}
	})
}

func TestApply(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		m := f.manager(Config{ID: "c1"})
		if err := m.Apply(fakePid); err != nil {
			t.Fatal(err)
		}
		for ctrl, dir := range m.Paths() {
			if got := f.read(dir, "cgroup.procs"); got != "999999999" {
				t.Errorf("%s: cgroup.procs = %q", ctrl, got)
			}
		}
		switch f.mode {
		case V2:
			if got := f.read(filepath.Join(f.root, "pier"), "cgroup.subtree_control"); got != "cpu cpuset hugetlb io memory pids rdma" {
				t.Errorf("pier/cgroup.subtree_control = %q", got)
			}
			if got := f.read(f.root, "cgroup.subtree_control"); got != "cpuset cpu io memory hugetlb pids rdma" {
				t.Errorf("the root's subtree_control was written: %q", got)
			}
		default:
			if got := f.read(m.Paths()["cpuset"], "cpuset.cpus"); got != "0-1" {
				t.Errorf("cpuset.cpus = %q, want it copied from the parent", got)
			}
		}
		f.exit(m)
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSet(t *testing.T) {
	for _, tc := range setCases {
		t.Run(tc.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, f *fakeFS) {
				m := f.manager(Config{ID: "c1"})
				if err := m.Apply(0); err != nil {
					t.Fatal(err)
				}
				err := m.Set(&tc.res)
				if want := tc.err[f.mode]; want != "" {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("Set error = %v, want one containing %q", err, want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want, ok := tc.want[f.mode]
				if !ok && f.mode == Hybrid {
					want, ok = tc.want[V1]
				}
				if !ok {
					t.Fatalf("no expectation for %v", f.mode)
				}
				for key, val := range want {
					ctrl, file, _ := strings.Cut(key, ":")
					if got := f.read(m.Paths()[ctrl], file); got != val {
						t.Errorf("%s = %q, want %q", key, got, val)
					}
				}
				if f.mode == V2 && len(tc.res.Devices) > 0 && len(f.devices[m.Paths()[""]]) != len(tc.res.Devices) {
					t.Errorf("device filter rules = %v", f.devices[m.Paths()[""]])
				}
			})
		})
	}
}

// TestUpdate raises and lowers memory and swap: v1 accepts them only in
// the right order, which the fake kernel enforces.
func TestUpdate(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		m := f.manager(Config{Path: "update/c1"})
		if err := m.Apply(0); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct{ limit, swap int64 }{{64 << 20, 128 << 20}, {256 << 20, 512 << 20}, {32 << 20, 48 << 20}, {-1, -1}} {
			err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(step.limit), Swap: i64(step.swap)}})
			if err != nil {
				t.Fatalf("Set %+v: %v", step, err)
			}
			st, err := m.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(step.limit); step.limit > 0 && st.Memory.Limit != want {
				t.Errorf("after %+v: Stats().Memory.Limit = %d", step, st.Memory.Limit)
			}
		}
		err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(32 << 20)}})
		if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.swap") {
			t.Errorf("swap below limit: err = %v", err)
		}
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFreeze(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		m := f.manager(Config{ID: "c1"})
		if err := m.Apply(0); err != nil {
			t.Fatal(err)
		}
		dir, file, frozen := m.Paths()["freezer"], "freezer.state", "FROZEN"
		if f.mode == V2 {
			dir, file, frozen = m.Paths()[""], "cgroup.freeze", "1"
		}
		for _, step := range []struct {
			op    func() error
			state string
		}{{m.Freeze, "frozen"}, {m.Thaw, "thawed"}, {m.Freeze, "frozen"}} {
			if err := step.op(); err != nil {
				t.Fatal(err)
			}
			if got, err := m.FreezerState(); err != nil || got != step.state {
				t.Errorf("FreezerState() = %q, %v; want %q", got, err, step.state)
			}
			if got := f.read(dir, file); (got == frozen) != (step.state == "frozen") {
				t.Errorf("%s = %q in state %s", file, got, step.state)
			}
		}
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProcsRecursive(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		m := f.manager(Config{ID: "c1"})
		if err := m.Apply(fakePid); err != nil {
			t.Fatal(err)
		}
		sub := filepath.Join(m.(*manager).procsDir(), "sub")
		if err := kernel.mkdir(sub); err != nil {
			t.Fatal(err)
		}
		if err := kernel.write(sub, "cgroup.procs", "999999998"); err != nil {
			t.Fatal(err)
		}
		if got, err := m.Procs(); err != nil || !reflect.DeepEqual(got, []int{fakePid - 1, fakePid}) {
			t.Errorf("Procs() = %v, %v", got, err)
		}
		f.exit(m)
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(sub); !os.IsNotExist(err) {
			t.Errorf("sub-cgroup %s left: %v", sub, err)
		}
	})
}

// TestKillAll kills real children listed in a fake tree: through
// cgroup.kill where there is a cgroup2 tree, else by signalling the list.
func TestKillAll(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		for _, sig := range []unix.Signal{unix.SIGKILL, unix.SIGTERM} {
			cmd := exec.Command("sleep", "30")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			m := f.manager(Config{ID: "kill"})
			if err := m.Apply(cmd.Process.Pid); err != nil {
				cmd.Process.Kill()
				t.Fatal(err)
			}
			if err := m.KillAll(sig); err != nil {
				cmd.Process.Kill()
				t.Fatal(err)
			}
			err := cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != sig {
				t.Errorf("%v: child ended with %v, want killed by it", sig, err)
			}
			f.exit(m)
			if err := m.Destroy(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestStats(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		m := f.manager(Config{ID: "c1"})
		if err := m.Apply(0); err != nil {
			t.Fatal(err)
		}
		if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}, Pids: &specs.LinuxPids{Limit: i64(7)}}); err != nil {
			t.Fatal(err)
		}
		p := m.Paths()
		files := map[string]string{
			"cpuacct:cpuacct.usage": "5000", "cpuacct:cpuacct.stat": "user 2\nsystem 1\n", "memory:memory.usage_in_bytes": "4096",
			"memory:memory.oom_control": "oom_kill_disable 0\noom_kill 2\n", "pids:pids.current": "3",
			"blkio:blkio.throttle.io_service_bytes_recursive": "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n",
		}
		if f.mode == V2 {
			files = map[string]string{":cpu.stat": "usage_usec 5\nuser_usec 2\nsystem_usec 3\n", ":memory.current": "4096",
				":memory.events": "oom 3\noom_kill 2\n", ":pids.current": "3", ":io.stat": "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0\n"}
		}
		for key, val := range files {
			ctrl, file, _ := strings.Cut(key, ":")
			if err := os.WriteFile(filepath.Join(p[ctrl], file), []byte(val), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		st, err := m.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.CPU.UsageNS != 5000 || st.Memory.Usage != 4096 || st.Memory.Limit != 1<<20 || st.Pids.Current != 3 || st.Pids.Limit != 7 || st.OOMKill != 2 {
			t.Errorf("Stats() = %+v", st)
		}
		if f.mode == V1 && st.CPU.UserNS != 20e6 {
			t.Errorf("CPU.UserNS = %d, want 2 ticks", st.CPU.UserNS)
		}
		if !slices.Contains(st.IO, IOEntry{Major: 8, Op: "write", Value: 20}) || !slices.Contains(st.IO, IOEntry{Major: 8, Op: "read", Value: 10}) {
			t.Errorf("Stats().IO = %+v", st.IO)
		}
		if n, err := m.OOMKillCount(); err != nil || n != 2 {
			t.Errorf("OOMKillCount() = %d, %v", n, err)
		}
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDestroy checks that Destroy leaves the tree as it found it, apart
// from the shared pier parent, and spares what is not the container's.
func TestDestroy(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		before := f.tree()
		// Another container's cgroup beside ours, and a parent pier did not make.
		other := f.manager(Config{Path: "a/other"})
		if err := other.Apply(0); err != nil {
			t.Fatal(err)
		}
		for _, d := range other.Paths() {
			if err := f.mkdir(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(d))), "foreign")); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
		withOther := f.tree()
		for _, path := range []string{"a/b/c", "/abs/x", "/foreign/y", ""} {
			m := f.manager(Config{Path: path, ID: "c1"})
			if err := m.Apply(fakePid); err != nil {
				t.Fatal(err)
			}
			f.exit(m)
			if err := m.Destroy(); err != nil {
				t.Fatalf("Destroy %q: %v", path, err)
			}
			if got := f.tree(); !reflect.DeepEqual(got, withOther) {
				t.Errorf("after Destroy of %q the tree is\n%v\nwant\n%v", path, got, withOther)
			}
			if err := m.Destroy(); err != nil {
				t.Errorf("second Destroy %q: %v", path, err)
			}
		}
		if err := other.Destroy(); err != nil {
			t.Fatal(err)
		}
		for _, d := range f.tree() {
			if !slices.Contains(before, d) && filepath.Base(d) != "pier" && filepath.Base(d) != "foreign" {
				t.Errorf("left behind: %s", d)
			}
		}
	})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		res  specs.LinuxResources
		mode Mode
		want string
	}{
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(50)}}, V1, "linux.resources.memory.swap: 50 is less than"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(50)}}, V2, "linux.resources.memory.swap: needs memory.limit"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(200)}}, V1, "linux.resources.memory.swappiness: 200 is out of range"},
		{specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolp(true)}}, V2, "linux.resources.memory.disableOOMKiller"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(3)}}, V2, "linux.resources.cpu.idle"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1)}}, V1, "linux.resources.cpu.shares"},
		{specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(5)}}, V1, "linux.resources.blockIO.weight: 5 is out of range"},
		{specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2 MB"}}}, V2, "linux.resources.hugepageLimits[0].pageSize"},
		{specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "x"}}}, V2, "linux.resources.devices[0]: type"},
		{specs.LinuxResources{Unified: map[string]string{"cgroup.procs/x": "1"}}, V2, "not a cgroup file name"},
	} {
		err := Validate(&tc.res, tc.mode)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want %q", tc.mode, err, tc.want)
		}
	}
	ok := specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(200)}, Pids: &specs.LinuxPids{Limit: i64(5)},
		Unified: map[string]string{"memory.high": "50"}}
	if err := Validate(&ok, V2); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}
