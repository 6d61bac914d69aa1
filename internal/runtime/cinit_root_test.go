package runtime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

// runTraced runs pier-runtime with PIER_TRACE (and extra variables) set
// and returns its output and the timeline it wrote.
func (r *rt) runTraced(env []string, args ...string) (out, trace string, code int) {
	r.t.Helper()
	tf := filepath.Join(r.t.TempDir(), "trace")
	cmd := exec.Command(r.bin, append([]string{"--root", r.root}, args...)...)
	cmd.Env = append(append(os.Environ(), "PIER_TRACE="+tf), env...)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	tb, _ := os.ReadFile(tf)
	return string(b), string(tb), code
}

// cinitBundle is the common container: namespaces, cgroup, the default
// mounts and masks, a seccomp filter, capabilities, no_new_privs, a user
// with groups, rlimits, a cwd and a missing HOME.
func cinitBundle(t *testing.T, script string) string {
	return testutil.Bundle(t, sh(script), func(s *specs.Spec) {
		umask := uint32(0o027)
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
		s.Process.Cwd = "/tmp"
		s.Process.Env = []string{"PATH=/bin:/usr/bin"}
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1000, Soft: 900}}
		s.Linux.Sysctl = map[string]string{"kernel.domainname": "cinit.test"}
		errno := uint(1)
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno},
		}}
	})
}

const cinitScript = `id; echo "cwd=$(pwd) home=$HOME umask=$(umask)"; ulimit -n; cat /proc/sys/kernel/domainname
grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; mkdir /tmp/x 2>&1 || echo mkdir refused
echo "timer_list $(wc -c < /proc/timer_list) bytes"; grep ' /proc/sys ' /proc/self/mountinfo | grep -c ' ro,'
echo "$(grep ' /sys/fs/cgroup' /proc/self/mountinfo | grep -vc ' ro,') writable cgroup mounts"`

// The C init is the path of the common container, for run and exec: the
// timeline shows its stages and no Go start inside the container, and the
// program gets everything the config asks for.
func TestCInitRunsTheCommonContainer(t *testing.T) {
	r := newRT(t)
	b := cinitBundle(t, cinitScript)
	out, trace, code := r.runTraced(nil, "run", "--bundle", b, r.id())
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, out)
	}
	for _, want := range []string{"uid=1000 gid=1000 groups=10,20", "cwd=/tmp home=/ umask=0027", "900", "cinit.test",
		"CapEff:\t00000000", "NoNewPrivs:\t1", "mkdir refused", "timer_list 0 bytes\n1\n0 writable cgroup mounts"} {
		if !strings.Contains(out, want) {
			t.Errorf("the program's view lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"runtime init: C", "cinit plan read", "cinit pivot_root", "cinit seccomp", "cinit execve /bin/sh"} {
		if !strings.Contains(trace, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, trace)
		}
	}
	if strings.Contains(trace, "init go main") {
		t.Errorf("a Go runtime started inside the container:\n%s", trace)
	}

	id := r.id()
	r.ok("run", "-d", "--bundle", cinitBundle(t, "exec sleep 1000"), id)
	out, trace, code = r.runTraced(nil, "exec", id, "sh", "-c", cinitScript)
	if code != 0 || !strings.Contains(out, "uid=1000") || !strings.Contains(out, "mkdir refused") {
		t.Errorf("exec: exit %d: %s", code, out)
	}
	if !strings.Contains(trace, "cinit execve") || strings.Contains(trace, "init go main") {
		t.Errorf("exec did not take the C init:\n%s", trace)
	}
}

// The Go init stays for what the C init leaves out, visibly, and does
// the same container the same way.
func TestCInitFallbackIsVisible(t *testing.T) {
	r := newRT(t)
	b := cinitBundle(t, cinitScript)
	cOut, _, _ := r.runTraced(nil, "run", "--bundle", b, r.id())
	out, trace, code := r.runTraced([]string{"PIER_GO_INIT=1"}, "run", "--bundle", b, r.id())
	if code != 0 || out != cOut {
		t.Errorf("the Go init's container differs (exit %d):\n%s\nthe C init's:\n%s", code, out, cOut)
	}
	if !strings.Contains(trace, "runtime init: Go (PIER_GO_INIT)") || !strings.Contains(trace, "init go main") {
		t.Errorf("the timeline does not show the Go init and why:\n%s", trace)
	}
	hooked := testutil.Bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
	})
	if _, trace, code := r.runTraced(nil, "run", "--bundle", hooked, r.id()); code != 0 ||
		!strings.Contains(trace, "init: Go (createContainer or startContainer hooks)") {
		t.Errorf("a createContainer hook: exit %d, timeline:\n%s", code, trace)
	}
}

// A failure inside the C init reaches the runtime with the field it
// concerns, and leaves nothing behind.
func TestCInitFailureNamesTheField(t *testing.T) {
	r := newRT(t)
	for name, c := range map[string]struct {
		edit func(*specs.Spec)
		want string
	}{
		"cwd":     {func(s *specs.Spec) { s.Process.Cwd = "/no/such" }, "process.cwd: chdir /no/such: no such file"},
		"program": {func(s *specs.Spec) { s.Process.Args = []string{"nope"} }, `exec: "nope": executable file not found`},
		"mount": {func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: "/no/such/src"})
		}, "mount /no/such/src on /x (bind)"},
	} {
		id := r.id()
		_, stderr, code := r.run("create", "--bundle", testutil.Bundle(t, []string{"true"}, c.edit), id)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d %q, want it to say %q", name, code, stderr, c.want)
		}
		assertGone(t, r, id)
	}
}

// Every rootfsPropagation runs on the C init; a shared root keeps the
// container's own mounts off the host (the mount holding the rootfs is
// made private first, as the Go init does).
func TestCInitRootPropagation(t *testing.T) {
	r := newRT(t)
	for _, prop := range []string{"rprivate", "rslave", "rshared", "runbindable"} {
		b := testutil.Bundle(t, []string{"true"}, func(s *specs.Spec) { s.Linux.RootfsPropagation = prop })
		out, trace, code := r.runTraced(nil, "run", "--bundle", b, r.id())
		if code != 0 || !strings.Contains(trace, "runtime init: C") {
			t.Errorf("rootfsPropagation %s: exit %d: %s", prop, code, out)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), filepath.Join(b, "rootfs")) {
			t.Errorf("rootfsPropagation %s: the container's mounts reached the host:\n%s", prop, mi)
		}
	}
}
