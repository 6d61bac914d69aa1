package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// layout is what is mounted under a cgroupfs root.
type layout struct {
	root    string
	mode    Mode
	v1      map[string]string // controller -> hierarchy mount point
	unified string            // cgroup2 mount point, "" on pure v1
	// avail lists the controllers a new cgroup can use: v1 mounts, or the
	// v2 root's cgroup.subtree_control.
	avail map[string]bool
}

// knownV1 are the v1 controllers pier joins; named hierarchies
// (name=systemd) are left alone.
var knownV1 = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true,
	"freezer": true, "blkio": true, "pids": true, "hugetlb": true, "net_cls": true,
	"net_prio": true, "perf_event": true, "rdma": true, "misc": true,
}

// detected caches detect's answer per root: the layout of a machine's
// cgroup mounts does not change under a running pier-runtime, and a
// command builds several managers (each status check does), each of
// which would otherwise read and parse all of mountinfo again.
var detected sync.Map // root -> *layout

// detect reads the layout from mountinfo when root is a real cgroupfs
// mount, else (a fake tree in tests) from the files under root.
func detect(root string) (*layout, error) {
	root = filepath.Clean(root)
	if l, ok := detected.Load(root); ok {
		return l.(*layout), nil
	}
	l, err := detectUncached(root)
	if err == nil && root == DefaultRoot {
		detected.Store(root, l)
	}
	return l, err
}

func detectUncached(root string) (*layout, error) {
	l, err := fromMountinfo(root, "/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	if l == nil {
		l, err = fromFiles(root)
		if err != nil {
			return nil, err
		}
	}
	l.root = root
	l.avail = map[string]bool{}
	if l.mode == V2 {
		s, err := os.ReadFile(filepath.Join(l.unified, "cgroup.subtree_control"))
		if err != nil {
			return nil, fmt.Errorf("detect cgroup v2 controllers: %w", err)
		}
		for _, c := range strings.Fields(string(s)) {
			l.avail[c] = true
		}
	} else {
		for c := range l.v1 {
			l.avail[c] = true
		}
	}
	return l, nil
}

// fromMountinfo returns nil when no cgroup filesystem is mounted at or
// directly below root.
func fromMountinfo(root, mountinfo string) (*layout, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("detect cgroup layout: %w", err)
	}
	defer f.Close()
	l := &layout{v1: map[string]string{}}
	found := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, s := range fields {
			if s == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		mnt, fstype, opts := fields[4], fields[sep+1], fields[sep+3]
		if mnt != root && filepath.Dir(mnt) != root {
			continue
		}
		switch fstype {
		case "cgroup2":
			found = true
			l.unified = mnt
		case "cgroup":
			found = true
			for _, o := range strings.Split(opts, ",") {
				if knownV1[o] {
					l.v1[o] = mnt
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", mountinfo, err)
	}
	if !found {
		return nil, nil
	}
	return l.classify(root)
}

// fromFiles detects a fake tree: cgroup.controllers at root is v2; root/
// <controller>[,<controller>] directories are v1; root/unified with
// cgroup.procs beside them is hybrid.
func fromFiles(root string) (*layout, error) {
	l := &layout{v1: map[string]string{}}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		l.unified = root
		return l.classify(root)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("detect cgroup layout under %s: %w", root, err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		for _, c := range strings.Split(e.Name(), ",") {
			if knownV1[c] {
				l.v1[c] = filepath.Join(root, e.Name())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "unified", "cgroup.procs")); err == nil {
		l.unified = filepath.Join(root, "unified")
	}
	return l.classify(root)
}

func (l *layout) classify(root string) (*layout, error) {
	switch {
	case len(l.v1) > 0 && l.unified != "":
		l.mode = Hybrid
	case len(l.v1) > 0:
		l.mode = V1
	case l.unified != "":
		l.mode = V2
	default:
		return nil, fmt.Errorf("detect cgroup layout under %s: no cgroup hierarchy found", root)
	}
	return l, nil
}
