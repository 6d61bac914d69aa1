package rootfs

import "strings"

// What the C init's plan (internal/runtime's cinit.go) needs of the Go
// init's own planning, so both inits build the same filesystem.

// RootPropagation is the propagation / gets before the mounts and after
// everything (0 for none), from linux.rootfsPropagation.
func RootPropagation(o Options) (prepare, final uintptr, err error) {
	return rootPropagation(o.Spec)
}

// RemountFlags is what a bind needs applied by a second, MS_REMOUNT call.
func (s Step) RemountFlags() uintptr { return s.remountFlags() }

// ExpandCgroup expands the config's cgroup mount s the way applyCgroup
// does inside the container, from the texts of the container process's
// /proc/PID/mountinfo and /proc/PID/cgroup.
func ExpandCgroup(s Step, mountinfo, procCgroup string, cgroupns bool) []Step {
	return cgroupSteps(s, parseMountinfo(mountinfo), parseProcCgroup(procCgroup), cgroupns)
}

// HasCgroupNS reports whether the config asks for a cgroup namespace.
func HasCgroupNS(o Options) bool { return hasCgroupNS(o.Spec) }

// SysctlFile is the file under /proc that sysctl key is written to.
func SysctlFile(key string) string { return "sys/" + strings.ReplaceAll(key, ".", "/") }
