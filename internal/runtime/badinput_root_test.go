package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// assertGone fails t if anything of container id is left: an entry in
// `list`, a state directory, or a cgroup in any hierarchy. (Processes and
// mounts are the leak check's.)
func assertGone(t *testing.T, r *rt, id string) {
	t.Helper()
	if out := r.ok("list", "-q"); strings.Contains(out, id) {
		t.Errorf("list still shows %s: %q", id, out)
	}
	if _, err := os.Stat(filepath.Join(r.root, id)); err == nil {
		t.Errorf("state directory of %s left behind", id)
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/pier/" + id)
	if cg, _ := filepath.Glob("/sys/fs/cgroup/pier/" + id); cg != nil {
		cgs = append(cgs, cg...)
	}
	if len(cgs) > 0 {
		t.Errorf("cgroups of %s left behind: %v", id, cgs)
	}
}

// badCreate is one config that create must refuse.
type badCreate struct {
	name string
	args []string            // process.args; nil means sleep 1000
	edit func(*specs.Spec)   // applied to the config
	fix  func(bundle string) // applied to the bundle after it is written
	want []string            // the message names these
}

func TestBadConfigLeavesNothing(t *testing.T) {
	r := newRT(t)
	testutil.Requires(t, "seccomp")
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	cases := []badCreate{
		{name: "malformed config.json", fix: func(b string) {
			writeFile(t, filepath.Join(b, "config.json"), `{"ociVersion": "1.2.0", "process": {`)
		}, want: []string{"config.json"}},
		{name: "missing rootfs", fix: func(b string) { _ = os.RemoveAll(filepath.Join(b, "rootfs")) }, want: []string{"root.path"}},
		{name: "empty args", args: []string{}, want: []string{"process.args"}},
		{name: "unknown capability", edit: func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NO_SUCH_THING")
		}, want: []string{"CAP_NO_SUCH_THING"}},
		{name: "unknown namespace", edit: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "nosuchns"})
		}, want: []string{"linux.namespaces", "nosuchns"}},
		{name: "cwd missing", edit: func(s *specs.Spec) { s.Process.Cwd = "/no/such/dir" }, want: []string{"process.cwd", "/no/such/dir"}},
		{name: "executable not found", args: []string{"no-such-program"}, want: []string{"no-such-program", "executable file not found"}},
		{name: "unknown seccomp action", edit: func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir"}, Action: "SCMP_ACT_SOMETIMES"}}}
		}, want: []string{"SCMP_ACT_SOMETIMES"}},
	}
	// With CAP_SYS_RESOURCE (the v2 VM's root has it; the dev machines'
	// root does not) raising the hard limit is allowed, not an error.
	if !hasCap(t, unix.CAP_SYS_RESOURCE) {
		cases = append(cases, badCreate{name: "rlimit above the hard limit", edit: func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: nofile.Max + 1}}
		}, want: []string{"RLIMIT_NOFILE", "CAP_SYS_RESOURCE"}})
	}
	for _, c := range cases {
		args := c.args
		if args == nil {
			args = []string{"sleep", "1000"}
		}
		b := testutil.Bundle(t, args, c.edit)
		if c.fix != nil {
			c.fix(b)
		}
		id := r.id()
		_, stderr, code := r.run("create", "--bundle", b, id)
		t.Logf("%s: exit %d: %s", c.name, code, strings.TrimSpace(stderr))
		if code == 0 {
			t.Errorf("%s: create succeeded", c.name)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: create said %q, want it to name %q", c.name, stderr, w)
			}
		}
		assertGone(t, r, id)
	}
}

// hasCap reports whether this process has capability c in its effective set.
func hasCap(t *testing.T, c int) bool {
	t.Helper()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatalf("capget: %v", err)
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBadIDsAndSignals(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id := r.id()
	r.ok("create", "--bundle", b, id)
	before := r.state(id)

	// The same id again: refused, and the first container is untouched.
	if _, stderr, code := r.run("create", "--bundle", b, id); code == 0 || !strings.Contains(stderr, id) || !strings.Contains(stderr, "exists") {
		t.Errorf("second create of %s: exit %d %q, want an error saying it exists", id, code, stderr)
	}
	if after := r.state(id); after.Status != "created" || after.Pid != before.Pid {
		t.Errorf("after a refused create of the same id: %s pid %d, want created pid %d", after.Status, after.Pid, before.Pid)
	}

	// An id that would escape the state root.
	if _, stderr, code := r.run("create", "--bundle", b, "../x"); code == 0 || !strings.Contains(stderr, "container id") {
		t.Errorf("create ../x: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(r.root), "x")); err == nil {
		t.Error("create ../x made a directory beside the state root")
	}

	if _, stderr, code := r.run("kill", id, "SIGNOPE"); code == 0 || !strings.Contains(stderr, "SIGNOPE") {
		t.Errorf("kill with an unknown signal: exit %d %q", code, stderr)
	}
	if s := r.state(id); s.Status != "created" {
		t.Errorf("after a refused kill: %s, want created", s.Status)
	}

	const ghost = "no-such-container"
	for _, verb := range [][]string{{"kill", ghost}, {"start", ghost}, {"delete", ghost}, {"state", ghost}, {"pause", ghost}, {"exec", ghost, "true"}} {
		if _, stderr, code := r.run(verb...); code == 0 || !strings.Contains(stderr, ghost) || !strings.Contains(stderr, "not found") {
			t.Errorf("%v: exit %d %q, want an error naming %s as not found", verb, code, stderr, ghost)
		}
	}
	if ids := lines(r.ok("list", "-q")); len(ids) != 1 || ids[0] != id {
		t.Errorf("list after the refused commands: %q, want only %s", ids, id)
	}
}
