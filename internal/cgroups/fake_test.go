package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/cgroups/fscommon"
)

// fakeFS is a cgroupfs in a temp dir with a fake kernel: new directories
// get their controllers' files, writes to files that do not exist fail as
// on kernfs, and a few writes have the kernel's effects (subtree_control,
// cgroup.freeze, cgroup.kill, the v1 memory/memsw ordering rule).
type fakeFS struct {
	t       *testing.T
	root    string
	mode    Mode
	devices map[string][]devRule // v2 device filters attached, by dir
}

const unlimitedV1 = "9223372036854771712"

// v1Files are each v1 controller's files with the values a new cgroup has.
var v1Files = map[string]map[string]string{
	"cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.cfs_burst_us": "0",
		"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.idle": "0",
		"cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"},
	"cpuacct": {"cpuacct.usage": "0", "cpuacct.stat": "user 0\nsystem 0\n"},
	"cpuset":  {"cpuset.cpus": "", "cpuset.mems": ""},
	"memory": {"memory.limit_in_bytes": unlimitedV1, "memory.memsw.limit_in_bytes": unlimitedV1,
		"memory.soft_limit_in_bytes": unlimitedV1, "memory.usage_in_bytes": "0", "memory.max_usage_in_bytes": "0",
		"memory.swappiness": "60", "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
		"memory.kmem.tcp.limit_in_bytes": unlimitedV1, "memory.stat": "cache 0\nrss 0\nswap 0\n"},
	"pids": {"pids.max": "max", "pids.current": "0"},
	"blkio": {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "", "blkio.throttle.read_bps_device": "",
		"blkio.throttle.write_bps_device": "", "blkio.throttle.read_iops_device": "",
		"blkio.throttle.write_iops_device": "", "blkio.throttle.io_service_bytes_recursive": ""},
	"devices":  {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
	"freezer":  {"freezer.state": "THAWED"},
	"hugetlb":  {"hugetlb.2MB.limit_in_bytes": unlimitedV1, "hugetlb.1GB.limit_in_bytes": unlimitedV1},
	"net_cls":  {"net_cls.classid": "0"},
	"net_prio": {"net_prio.ifpriomap": ""},
	"rdma":     {"rdma.max": ""},
}

// v2Files are each v2 controller's files; "" is the core every cgroup has.
var v2Files = map[string]map[string]string{
	"": {"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.events": "populated 0\nfrozen 0\n",
		"cgroup.freeze": "0", "cgroup.kill": ""},
	"cpu": {"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
		"cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"},
	"cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
	"memory": {"memory.max": "max", "memory.low": "0", "memory.swap.max": "max", "memory.current": "0",
		"memory.peak": "0", "memory.swap.current": "0", "memory.high": "max", "memory.events": "low 0\noom 0\noom_kill 0\n", "memory.stat": "anon 0\n"},
	"io":      {"io.weight": "default 100", "io.max": "", "io.stat": ""},
	"pids":    {"pids.max": "max", "pids.current": "0"},
	"hugetlb": {"hugetlb.2MB.max": "max", "hugetlb.1GB.max": "max"},
	"rdma":    {"rdma.max": ""},
}

// hostV1 are the v1 controllers of this project's machines (no hugetlb,
// net_cls, net_prio or rdma), used for the hybrid fake.
var hostV1 = []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}

// newFake builds a fake tree for mode and installs its kernel until t ends.
func newFake(t *testing.T, mode Mode) *fakeFS {
	t.Helper()
	f := &fakeFS{t: t, root: fastTempDir(t), mode: mode, devices: map[string][]devRule{}}
	switch mode {
	case V1:
		// cpu and cpuacct share one hierarchy, as on many distributions.
		f.hier("cpu,cpuacct", "cpu", "cpuacct")
		for _, c := range []string{"blkio", "cpuset", "devices", "freezer", "memory", "pids", "hugetlb", "net_cls", "net_prio", "rdma"} {
			f.hier(c, c)
		}
	case Hybrid:
		for _, c := range hostV1 {
			f.hier(c, c)
		}
		f.files(filepath.Join(f.root, "unified"), v2Files[""])
		f.files(filepath.Join(f.root, "unified"), map[string]string{"cgroup.controllers": "hugetlb"})
	case V2:
		f.files(f.root, v2Files[""])
		all := "cpuset cpu io memory hugetlb pids rdma"
		f.files(f.root, map[string]string{"cgroup.controllers": all, "cgroup.subtree_control": all,
			"cpuset.cpus.effective": "0-1", "cpuset.mems.effective": "0"})
	}
	saved := kernel
	kernel.mkdir, kernel.rmdir, kernel.write = f.mkdir, f.rmdir, f.write
	kernel.attachDevices = func(dir string, rules []devRule) error {
		f.devices[dir] = rules
		return nil
	}
	t.Cleanup(func() { kernel = saved })
	return f
}

// hier makes a v1 hierarchy root dir holding ctrls.
func (f *fakeFS) hier(dir string, ctrls ...string) {
	d := filepath.Join(f.root, dir)
	f.files(d, map[string]string{"cgroup.procs": "", "tasks": ""})
	for _, c := range ctrls {
		f.files(d, v1Files[c])
	}
	if dir == "cpuset" {
		f.files(d, map[string]string{"cpuset.cpus": "0-1", "cpuset.mems": "0"})
	}
}

func (f *fakeFS) files(dir string, files map[string]string) {
	f.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

// mkdir populates the new cgroup like the kernel: v1 with its hierarchy's
// files, v2 with the core plus what the parent's subtree_control enables.
func (f *fakeFS) mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	rel, _ := filepath.Rel(f.root, dir)
	top := strings.Split(rel, "/")[0]
	files := map[string]string{}
	add := func(m map[string]string) {
		for k, v := range m {
			files[k] = v
		}
	}
	if f.mode == V2 || top == "unified" {
		add(v2Files[""])
		on, _ := os.ReadFile(filepath.Join(filepath.Dir(dir), "cgroup.subtree_control"))
		for _, c := range strings.Fields(string(on)) {
			add(v2Files[c])
		}
		files["cgroup.controllers"] = strings.TrimSpace(string(on))
	} else {
		add(map[string]string{"cgroup.procs": "", "tasks": ""})
		for _, c := range strings.Split(top, ",") {
			add(v1Files[c])
		}
	}
	f.files(dir, files)
	return nil
}

// rmdir, like the kernel's, removes a cgroup with files but no children.
func (f *fakeFS) rmdir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			return unix.ENOTEMPTY
		}
	}
	for _, e := range ents {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	return os.Remove(dir)
}

func (f *fakeFS) write(dir, file, data string) error {
	p := filepath.Join(dir, file)
	old, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, errors.Unwrap(err))
	}
	switch file {
	case "cgroup.subtree_control":
		set := map[string]bool{}
		for _, c := range strings.Fields(string(old) + " " + data) {
			set[strings.TrimPrefix(c, "+")] = true
		}
		var list []string
		for c := range set {
			list = append(list, c)
		}
		sort.Strings(list)
		data = strings.Join(list, " ")
		f.propagate(dir, list)
	case "cgroup.freeze":
		ev := fmt.Sprintf("populated 0\nfrozen %s\n", strings.TrimSpace(data))
		if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte(ev), 0o644); err != nil {
			return err
		}
	case "cgroup.kill":
		pids, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, s := range strings.Fields(string(pids)) {
			pid, _ := strconv.Atoi(s)
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	case "memory.limit_in_bytes", "memory.memsw.limit_in_bytes":
		if err := f.checkMemsw(dir, file, data); err != nil {
			return fmt.Errorf("write %q to %s: %w", data, p, err)
		}
	}
	return os.WriteFile(p, []byte(data), 0o644)
}

// checkMemsw is the kernel's rule: memory limit <= memory+swap limit.
func (f *fakeFS) checkMemsw(dir, file, data string) error {
	val := func(s string) uint64 {
		if strings.TrimSpace(s) == "-1" {
			s = unlimitedV1 // the kernel's PAGE_COUNTER_MAX
		}
		v, _ := fscommon.ParseUint(s)
		return v
	}
	limit, _ := fscommon.ReadFile(dir, "memory.limit_in_bytes")
	memsw, _ := fscommon.ReadFile(dir, "memory.memsw.limit_in_bytes")
	if file == "memory.limit_in_bytes" && val(data) > val(memsw) ||
		file == "memory.memsw.limit_in_bytes" && val(data) < val(limit) {
		return unix.EINVAL
	}
	return nil
}

// read returns dir/file trimmed, failing t when it is missing.
func (f *fakeFS) read(dir, file string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		f.t.Fatalf("read: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// tree lists every directory under root, relative, for leak comparisons.
func (f *fakeFS) tree() []string {
	var out []string
	_ = filepath.WalkDir(f.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			rel, _ := filepath.Rel(f.root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// propagate gives dir's children the files of the controllers just
// enabled in dir's subtree_control.
func (f *fakeFS) propagate(dir string, ctrls []string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		child := filepath.Join(dir, e.Name())
		for _, c := range ctrls {
			f.files(child, v2Files[c])
		}
		f.files(child, map[string]string{"cgroup.controllers": strings.Join(ctrls, " ")})
	}
}

// fastTempDir is a temp dir on tmpfs when /dev/shm is there: the suite
// creates thousands of small files, which costs seconds on some disks.
func fastTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "pier-cgroups-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
