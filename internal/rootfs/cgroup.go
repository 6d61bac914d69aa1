package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/sys"
)

// mountEntry is one line of /proc/self/mountinfo, the fields we use.
type mountEntry struct {
	Root, Mountpoint, FSType, Source, SuperOptions string
}

func parseMountinfo(data string) []mountEntry {
	var out []mountEntry
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, w := range f {
			if w == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+4 {
			continue
		}
		out = append(out, mountEntry{
			Root: unescape(f[3]), Mountpoint: unescape(f[4]),
			FSType: f[sep+1], Source: f[sep+2], SuperOptions: f[sep+3],
		})
	}
	return out
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and '\'.
func unescape(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// v1Controllers are the names that, in a v1 hierarchy's super options,
// say which controllers it has (the rest are options like xattr).
var v1Controllers = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true,
	"freezer": true, "net_cls": true, "net_prio": true, "blkio": true, "perf_event": true,
	"hugetlb": true, "pids": true, "rdma": true, "misc": true, "debug": true,
}

// hierarchyKey is a v1 hierarchy's controllers, sorted and comma-joined,
// the way both mountinfo and /proc/self/cgroup can be matched ("" for v2).
func hierarchyKey(opts string) string {
	var keep []string
	for _, o := range strings.Split(opts, ",") {
		if v1Controllers[o] || strings.HasPrefix(o, "name=") {
			keep = append(keep, o)
		}
	}
	sort.Strings(keep)
	return strings.Join(keep, ",")
}

// parseProcCgroup maps hierarchy keys to this process's cgroup path.
func parseProcCgroup(data string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(data, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 {
			out[hierarchyKey(f[1])] = f[2]
		}
	}
	return out
}

func hasCgroupNS(spec *specs.Spec) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.CgroupNamespace {
			return true
		}
	}
	return false
}

// cgroupSteps expands the config's cgroup mount s against the host. On a
// cgroup2 host it is a cgroup2 mount. On a v1 or hybrid host it is a tmpfs
// with one mount per hierarchy, like runc: a fresh cgroup mount when the
// container has its own cgroup namespace (which shows its cgroup as the
// root), else a bind of this process's cgroup directory. Names of co-mounted
// hierarchies (cpu,cpuacct) get a symlink each.
func cgroupSteps(s Step, mounts []mountEntry, own map[string]string, cgroupns bool) []Step {
	for _, m := range mounts {
		if m.Mountpoint == "/sys/fs/cgroup" && m.FSType == "cgroup2" {
			return []Step{{Kind: KindMount, Index: s.Index, Destination: s.Destination,
				Source: "cgroup2", Type: "cgroup2", Flags: s.Flags}}
		}
	}
	steps := []Step{{Kind: KindMount, Index: s.Index, Destination: s.Destination,
		Source: "tmpfs", Type: "tmpfs", Flags: s.Flags &^ unix.MS_RDONLY, Data: "mode=755"}}
	seen := map[string]bool{}
	for _, m := range mounts {
		if (m.FSType != "cgroup" && m.FSType != "cgroup2") || !strings.HasPrefix(m.Mountpoint, "/sys/fs/cgroup/") {
			continue
		}
		name := path.Base(m.Mountpoint)
		if seen[name] {
			continue
		}
		seen[name] = true
		key := ""
		if m.FSType == "cgroup" {
			key = hierarchyKey(m.SuperOptions)
		}
		dst := path.Join(s.Destination, name)
		if cgroupns {
			steps = append(steps, Step{Kind: KindMount, Index: s.Index, Destination: dst,
				Source: m.FSType, Type: m.FSType, Flags: s.Flags, Data: key})
		} else {
			src := m.Mountpoint
			if p, ok := own[key]; ok && strings.HasPrefix(p, m.Root) {
				src = path.Join(m.Mountpoint, strings.TrimPrefix(p, m.Root))
			}
			steps = append(steps, Step{Kind: KindMount, Index: s.Index, Destination: dst,
				Source: src, Type: "bind", Flags: s.Flags | unix.MS_BIND | unix.MS_REC})
		}
		if parts := strings.Split(name, ","); len(parts) > 1 {
			for _, p := range parts {
				steps = append(steps, Step{Kind: KindSymlink, Index: -1, Destination: path.Join(s.Destination, p), Target: name})
			}
		}
	}
	return steps
}

func applyCgroup(o Options, s Step) error {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	steps := cgroupSteps(s, parseMountinfo(string(mi)), parseProcCgroup(string(own)), hasCgroupNS(o.Spec))
	if len(steps) == 1 {
		err := applyMount(o, steps[0])
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
			// No cgroup namespace to mount a fresh cgroup2 in: show the
			// host's hierarchy instead, as runc does.
			b := steps[0]
			b.Source, b.Type, b.Flags = "/sys/fs/cgroup", "bind", s.Flags|unix.MS_BIND|unix.MS_REC
			err = applyMount(o, b)
		}
		return err
	}
	// With mount_setattr the tree gets its flags in one recursive call at
	// the end, instead of a remount per hierarchy (the C init does the same).
	attrs := CgroupTreeAttrs(s.Flags)
	if !HasMountSetattr() {
		attrs = 0
	}
	for _, st := range steps {
		if attrs != 0 && st.IsBind() {
			st.Flags = unix.MS_BIND | unix.MS_REC
		}
		if err := applyPrepare(o, st); err != nil {
			return err
		}
	}
	if s.Flags&unix.MS_RDONLY == 0 && attrs == 0 {
		return nil
	}
	f, err := sys.OpenInRoot(o.Rootfs, s.Destination, unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	if attrs != 0 {
		err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: attrs})
		if err != nil {
			return fmt.Errorf("mount_setattr %s: %w", s.Destination, err)
		}
		return nil
	}
	flags := unix.MS_REMOUNT | unix.MS_BIND | (s.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT))
	return mountAs("", fdPath(f), s.Destination, "", flags, "")
}

// CgroupTreeAttrs maps a cgroup mount's flags to the mount attributes its
// whole tree gets at once.
func CgroupTreeAttrs(flags uintptr) uint64 {
	var attrs uint64
	for ms, attr := range map[uintptr]uint64{unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID,
		unix.MS_NODEV: unix.MOUNT_ATTR_NODEV, unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC} {
		if flags&ms != 0 {
			attrs |= attr
		}
	}
	return attrs
}
