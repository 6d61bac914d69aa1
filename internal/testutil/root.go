package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RootEnv is the variable that turns root tests on. `make test` sets it when
// run as root, which CI is; a root test that would silently skip there proves
// nothing, so setting it without root is a failure, not a skip.
const RootEnv = "PIER_TEST_ROOT"

// RootEnabled reports whether root tests were asked for.
func RootEnabled() bool { return os.Getenv(RootEnv) == "1" }

// RequiresRoot skips t unless root tests were asked for, and fails it when
// they were asked for without root.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if !RootEnabled() {
		t.Skipf("root test: run as root with %s=1", RootEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but not running as root", RootEnv)
	}
}

// Requires skips t, naming the feature, when the machine lacks one of the
// named features. Known features: overlay, userns, cgroup1, cgroup2,
// cgroup2-controllers, seccomp, timens, busybox, runc, crun.
func Requires(t testing.TB, features ...string) {
	t.Helper()
	for _, f := range features {
		if ok, why := probe(f); !ok {
			t.Skipf("requires %s: %s", f, why)
		}
	}
}

func probe(feature string) (bool, string) {
	switch feature {
	case "overlay":
		return fsSupported("overlay")
	case "userns":
		if _, err := os.Stat("/proc/self/ns/user"); err != nil {
			return false, "no user namespaces"
		}
		if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
			return false, "user.max_user_namespaces is 0"
		}
		return true, ""
	case "timens":
		if _, err := os.Stat("/proc/self/ns/time"); err != nil {
			return false, "no time namespaces"
		}
		return true, ""
	case "cgroup1":
		if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
			return false, "no cgroup v1 memory hierarchy"
		}
		return true, ""
	case "cgroup2":
		for _, p := range []string{"/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/unified/cgroup.procs"} {
			if _, err := os.Stat(p); err == nil {
				return true, ""
			}
		}
		return false, "no cgroup2 mount"
	case "cgroup2-controllers":
		b, err := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control")
		if err != nil || !strings.Contains(string(b), "memory") {
			return false, "cgroup v2 is not the main hierarchy with controllers enabled"
		}
		return true, ""
	case "seccomp":
		if _, err := os.Stat("/proc/sys/kernel/seccomp/actions_avail"); err != nil {
			return false, "kernel without seccomp filters"
		}
		return true, ""
	case "busybox":
		if _, err := os.Stat(BusyboxPath); err != nil {
			return false, BusyboxPath + " missing (apt-get install busybox-static)"
		}
		return true, ""
	default:
		if _, err := exec.LookPath(feature); err != nil {
			return false, feature + " not installed"
		}
		return true, ""
	}
}

func fsSupported(name string) (bool, string) {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false, err.Error()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(strings.TrimPrefix(line, "nodev")) == name {
			return true, ""
		}
	}
	return false, name + " not in /proc/filesystems"
}
