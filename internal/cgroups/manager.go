package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/cgroups/fscommon"
)

// kernel is the cgroupfs as the manager changes it. Tests swap in a fake
// kernel that populates new directories and reacts to writes the way
// cgroupfs does.
var kernel = struct {
	mkdir func(dir string) error
	rmdir func(dir string) error
	write func(dir, file, data string) error
	// attachDevices installs the v2 device filter; the fake records rules.
	attachDevices func(dir string, rules []devRule) error
}{
	mkdir:         func(dir string) error { return os.Mkdir(dir, 0o755) },
	rmdir:         unix.Rmdir,
	write:         fscommon.WriteFile,
	attachDevices: attachDevices,
}

// manager implements Manager for every mode: v1 controllers in paths by
// name, the cgroup2 tree (v2, or hybrid's unified) under "".
type manager struct {
	*layout
	rel   string            // the cgroup below each hierarchy's root
	paths map[string]string // controller or "" -> absolute dir
	// created are the directories Apply made in this process, so Destroy
	// may remove parents it made even outside /pier.
	created map[string]bool
}

func (m *manager) Mode() Mode { return m.mode }

func (m *manager) Paths() map[string]string {
	out := make(map[string]string, len(m.paths))
	for k, v := range m.paths {
		out[k] = v
	}
	return out
}

// v2dir is the cgroup2 directory ("" on pure v1).
func (m *manager) v2dir() string { return m.paths[""] }

// Apply creates the cgroup in every hierarchy, then moves pid in.
func (m *manager) Apply(pid int) error {
	for _, ctrl := range m.sortedKeys() {
		dir := m.paths[ctrl]
		hier := m.v1[ctrl]
		if ctrl == "" {
			hier = m.unified
		}
		if err := m.mkdirAll(hier, dir); err != nil {
			return err
		}
		if ctrl == "cpuset" {
			if err := initCpuset(hier, dir); err != nil {
				return err
			}
		}
		if ctrl == "" && m.mode == V2 {
			if err := m.enableControllers(dir); err != nil {
				return err
			}
		}
	}
	if pid <= 0 {
		return nil
	}
	for _, ctrl := range m.sortedKeys() {
		if err := kernel.write(m.paths[ctrl], "cgroup.procs", fmt.Sprint(pid)); err != nil {
			return fmt.Errorf("move pid %d into cgroup: %w", pid, err)
		}
	}
	return nil
}

// sortedKeys orders the hierarchies so errors and writes are repeatable;
// several v1 controllers may share one mount and so one directory.
func (m *manager) sortedKeys() []string {
	seen := map[string]bool{}
	var keys []string
	for k, dir := range m.paths {
		if !seen[dir] {
			seen[dir] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// mkdirAll makes dir and its missing parents below hier, remembering which
// it made. Another cgroup's Destroy removes the empty parents it shares
// with dir (removeParents): a parent this walk found existing may be gone
// by its next mkdir, which then fails with ENOENT (a RUN step's cgroup
// failed so while the step beside it ended). The walk then starts over;
// once dir exists its parents are not empty, and stay.
func (m *manager) mkdirAll(hier, dir string) error {
	rel, err := filepath.Rel(hier, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("cgroup %s is outside %s", dir, hier)
	}
	for try := 1; ; try++ {
		err := m.mkdirWalk(hier, rel)
		if err == nil || !errors.Is(err, os.ErrNotExist) || try == 10 {
			return err
		}
	}
}

// mkdirWalk makes each directory of rel below hier that is missing.
func (m *manager) mkdirWalk(hier, rel string) error {
	cur := hier
	for _, part := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, part)
		err := kernel.mkdir(cur)
		if err == nil {
			m.created[cur] = true
			continue
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("mkdir %s: %w", cur, err)
		}
	}
	return nil
}

// initCpuset fills empty cpuset.cpus and cpuset.mems from the parent on the
// way down: a v1 cpuset cgroup starts empty and refuses tasks until set.
func initCpuset(hier, dir string) error {
	rel, _ := filepath.Rel(hier, dir)
	cur := hier
	for _, part := range strings.Split(rel, "/") {
		parent := cur
		cur = filepath.Join(cur, part)
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, _ := fscommon.ReadFile(cur, f)
			if strings.TrimSpace(v) != "" {
				continue
			}
			pv, err := fscommon.ReadFile(parent, f)
			if err != nil {
				return fmt.Errorf("init cpuset: %w", err)
			}
			if err := kernel.write(cur, f, strings.TrimSpace(pv)); err != nil {
				return fmt.Errorf("init cpuset: %w", err)
			}
		}
	}
	return nil
}

// enableControllers turns on, in every ancestor of dir below the v2 root,
// the controllers the root delegates, so dir gets their files. The root
// itself is never written.
func (m *manager) enableControllers(dir string) error {
	var want []string
	for c := range m.avail {
		want = append(want, c)
	}
	sort.Strings(want)
	rel, _ := filepath.Rel(m.unified, filepath.Dir(dir))
	if rel == "." || len(want) == 0 {
		return nil
	}
	cur := m.unified
	for _, part := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, part)
		on, _ := fscommon.ReadFile(cur, "cgroup.subtree_control")
		enabled := map[string]bool{}
		for _, c := range strings.Fields(on) {
			enabled[strings.TrimPrefix(c, "+")] = true
		}
		var add []string
		for _, c := range want {
			if !enabled[c] {
				add = append(add, "+"+c)
			}
		}
		if len(add) == 0 {
			continue
		}
		if err := kernel.write(cur, "cgroup.subtree_control", strings.Join(add, " ")); err != nil {
			return fmt.Errorf("enable controllers: %w", err)
		}
	}
	return nil
}
