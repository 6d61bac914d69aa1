package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Snapshot is the machine state a test could leak: mounts of the test's
// mount namespace, cgroups under any "pier" parent, named network
// namespaces, network interfaces, the test process's descendants, and
// pierd's default exec roots.
type Snapshot struct {
	Mounts    map[string]bool
	Cgroups   map[string]bool
	Netns     map[string]bool
	Links     map[string]bool
	Processes map[string]bool
	NftTables map[string]bool
	ExecRoots map[string]bool
}

// TakeSnapshot reads the current state. Errors reading a source leave that
// part empty: a missing /run/netns is not a leak.
func TakeSnapshot() Snapshot {
	return Snapshot{
		Mounts:    mounts(),
		Cgroups:   pierCgroups(),
		Netns:     dirNames("/run/netns"),
		Links:     dirNames("/sys/class/net"),
		Processes: descendants(os.Getpid()),
		NftTables: nftTables(),
		ExecRoots: execRoots(),
	}
}

// Leaks lists what after has that before had not.
func Leaks(before, after Snapshot) []string {
	var out []string
	add := func(kind string, b, a map[string]bool) {
		for k := range a {
			if !b[k] {
				out = append(out, kind+": "+k)
			}
		}
	}
	add("mount", before.Mounts, after.Mounts)
	add("cgroup", before.Cgroups, after.Cgroups)
	add("netns", before.Netns, after.Netns)
	add("link", before.Links, after.Links)
	add("process", before.Processes, after.Processes)
	add("nft table", before.NftTables, after.NftTables)
	add("exec root", before.ExecRoots, after.ExecRoots)
	sort.Strings(out)
	return out
}

// CheckLeaks snapshots now and, when t ends, fails t if anything was left
// behind. Processes and cgroups get a short grace to disappear, since the
// kernel tears them down asynchronously.
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := TakeSnapshot()
	t.Cleanup(func() {
		if leaks := waitNoLeaks(before, 3*time.Second); len(leaks) > 0 {
			t.Errorf("left behind:\n  %s", strings.Join(leaks, "\n  "))
		}
	})
}

// LeakCheckMain runs the package's tests and fails the run when they left
// anything behind; call it from TestMain as os.Exit(testutil.LeakCheckMain(m)).
func LeakCheckMain(m *testing.M) int {
	before := TakeSnapshot()
	code := m.Run()
	if leaks := waitNoLeaks(before, 5*time.Second); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "leak check: the tests left behind:\n  %s\n", strings.Join(leaks, "\n  "))
		if code == 0 {
			code = 1
		}
	}
	return code
}

func waitNoLeaks(before Snapshot, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaks := Leaks(before, TakeSnapshot())
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mounts() map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out[f[4]] = true
		}
	}
	return out
}

func pierCgroups() map[string]bool {
	out := map[string]bool{}
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/pier")
	if _, err := os.Stat("/sys/fs/cgroup/pier"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/pier")
	}
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != root {
				out[p] = true
			}
			return nil
		})
	}
	return out
}

func dirNames(dir string) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}

// descendants lists the processes below pid as "pid comm", read from /proc.
func descendants(pid int) map[string]bool {
	parent := map[int]int{}
	comm := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		close := strings.LastIndexByte(s, ')')
		open := strings.IndexByte(s, '(')
		if close < 0 || open < 0 {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
		comm[p] = s[open+1 : close]
	}
	out := map[string]bool{}
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out[fmt.Sprintf("%d %s", p, comm[p])] = true
				break
			}
		}
	}
	return out
}
