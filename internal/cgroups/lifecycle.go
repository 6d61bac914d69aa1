package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/cgroups/fscommon"
)

// freezeTimeout bounds how long Freeze and Thaw wait for the kernel.
var freezeTimeout = 5 * time.Second

func (m *manager) Freeze() error { return m.setFrozen(true) }
func (m *manager) Thaw() error   { return m.setFrozen(false) }

// setFrozen uses the v1 freezer where there is one (v1, hybrid), else
// cgroup.freeze.
func (m *manager) setFrozen(frozen bool) error {
	if dir, ok := m.paths["freezer"]; ok {
		return freezeV1(dir, frozen)
	}
	if dir := m.v2dir(); dir != "" {
		return freezeV2(dir, frozen)
	}
	return errors.New("freeze: no freezer controller and no cgroup2 tree")
}

// freezeV1 writes freezer.state until it reads back the wanted state: a
// FREEZING cgroup whose tasks are busy forking can stay there, and writing
// again makes the kernel retry.
func freezeV1(dir string, frozen bool) error {
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}
	deadline := time.Now().Add(freezeTimeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		if err := kernel.write(dir, "freezer.state", want); err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		got, err := fscommon.ReadFile(dir, "freezer.state")
		if err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		if strings.TrimSpace(got) == want {
			return nil
		}
		if time.Now().After(deadline) {
			if frozen {
				_ = kernel.write(dir, "freezer.state", "THAWED")
			}
			return fmt.Errorf("freeze %s: still %s after %s", dir, strings.TrimSpace(got), freezeTimeout)
		}
		time.Sleep(delay)
	}
}

// freezeV2 writes cgroup.freeze and waits for cgroup.events to agree.
func freezeV2(dir string, frozen bool) error {
	val, want := "0", uint64(0)
	if frozen {
		val, want = "1", 1
	}
	if err := kernel.write(dir, "cgroup.freeze", val); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	deadline := time.Now().Add(freezeTimeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		ev, err := fscommon.GetKeyValue(dir, "cgroup.events")
		if err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
		if v, ok := ev["frozen"]; !ok || v == want {
			return nil // no "frozen" key: a kernel without the v2 freezer state
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("freeze %s: cgroup.events frozen is not %d after %s", dir, want, freezeTimeout)
		}
		time.Sleep(delay)
	}
}

func (m *manager) FreezerState() (string, error) {
	if dir, ok := m.paths["freezer"]; ok {
		s, err := fscommon.ReadFile(dir, "freezer.state")
		if err != nil {
			return "", fmt.Errorf("freezer state: %w", err)
		}
		if strings.TrimSpace(s) == "FROZEN" {
			return "frozen", nil
		}
		return "thawed", nil
	}
	s, err := fscommon.ReadFile(m.v2dir(), "cgroup.freeze")
	if err != nil {
		return "", fmt.Errorf("freezer state: %w", err)
	}
	if strings.TrimSpace(s) == "1" {
		return "frozen", nil
	}
	return "thawed", nil
}

// procsDir is the one directory whose tree holds every process: the cgroup2
// tree when there is one, else a v1 controller that is always present.
func (m *manager) procsDir() string {
	if d := m.v2dir(); d != "" {
		return d
	}
	for _, c := range []string{"freezer", "pids", "memory", "cpu", "devices"} {
		if d, ok := m.paths[c]; ok {
			return d
		}
	}
	for _, k := range m.sortedKeys() {
		return m.paths[k]
	}
	return ""
}

// Procs lists the pids in the cgroup and all its descendants.
func (m *manager) Procs() ([]int, error) {
	seen := map[int]bool{}
	root := m.procsDir()
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, os.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		s, err := fscommon.ReadFile(p, "cgroup.procs")
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(s) {
			if pid, err := strconv.Atoi(f); err == nil {
				seen[pid] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	pids := make([]int, 0, len(seen))
	for p := range seen {
		pids = append(pids, p)
	}
	sort.Ints(pids)
	return pids, nil
}

// KillAll signals every process. SIGKILL goes through cgroup.kill when the
// kernel has it; otherwise the cgroup is frozen while the list is read and
// signalled, so nothing forks past the list, then thawed.
func (m *manager) KillAll(sig unix.Signal) error {
	if d := m.v2dir(); d != "" && sig == unix.SIGKILL {
		if _, err := os.Stat(filepath.Join(d, "cgroup.kill")); err == nil {
			if err := kernel.write(d, "cgroup.kill", "1"); err != nil {
				return fmt.Errorf("kill cgroup: %w", err)
			}
			return nil
		}
	}
	// Without any freezer the list is only as good as the moment it is read.
	canFreeze := m.paths["freezer"] != "" || m.v2dir() != ""
	if canFreeze {
		if err := m.Freeze(); err != nil {
			return fmt.Errorf("kill cgroup: %w", err)
		}
	}
	pids, err := m.Procs()
	if err == nil {
		for _, pid := range pids {
			if kerr := unix.Kill(pid, sig); kerr != nil && !errors.Is(kerr, unix.ESRCH) {
				err = fmt.Errorf("kill %d: %w", pid, kerr)
			}
		}
	}
	if canFreeze {
		if terr := m.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	if err != nil {
		return fmt.Errorf("kill cgroup: %w", err)
	}
	return nil
}
