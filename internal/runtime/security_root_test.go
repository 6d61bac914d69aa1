package runtime_test

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestSeccompProfileDeniesSyscalls(t *testing.T) {
	r := newRT(t)
	testutil.Requires(t, "seccomp")
	// touch first: the root is writable, so only the filter can stop mkdir.
	script := "touch /tmp/file && echo touched; mkdir /tmp/x; echo mkdir=$?"
	b := testutil.Bundle(t, sh(script), func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
		}
	})
	out, stderr, code := r.run("run", "--bundle", b, r.id())
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, out, stderr)
	}
	if !strings.Contains(out, "touched") || !strings.Contains(out, "mkdir=1") {
		t.Errorf("stdout %q: want touched and mkdir=1", out)
	}
	if !strings.Contains(stderr, "Operation not permitted") {
		t.Errorf("mkdir under the filter said %q, want Operation not permitted", stderr)
	}
}

// capScript prints the capability and no_new_privs lines of the
// process's own status.
const capScript = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status"

func statusLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestCapabilitiesAndNoNewPrivs(t *testing.T) {
	r := newRT(t)
	only := []string{"CAP_CHOWN"}
	b := testutil.Bundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: only, Effective: only, Permitted: only, Inheritable: only, Ambient: only,
		}
		s.Process.NoNewPrivileges = true
	})
	id, _ := r.runDetached(b)
	want := map[string]string{
		"CapInh": "0000000000000001", "CapPrm": "0000000000000001", "CapEff": "0000000000000001",
		"CapBnd": "0000000000000001", "CapAmb": "0000000000000001", "NoNewPrivs": "1",
	}
	// The container's own process, then one exec'd into it.
	for _, cmd := range [][]string{{"cat", "/proc/1/status"}, sh(capScript)} {
		got := statusLines(r.ok(append([]string{"exec", id}, cmd...)...))
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%v: %s %q, want %q", cmd, k, got[k], v)
			}
		}
	}

	b2 := testutil.Bundle(t, sh(capScript), func(s *specs.Spec) { s.Process.NoNewPrivileges = false })
	if got := statusLines(r.ok("run", "--bundle", b2, r.id())); got["NoNewPrivs"] != "0" {
		t.Errorf("noNewPrivileges false: NoNewPrivs %q, want 0", got["NoNewPrivs"])
	}
}

func TestProcessUserAndGroups(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, sh("id -u; id -g; id -G"), func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}}
	})
	got := lines(r.ok("run", "--bundle", b, r.id()))
	want := []string{"1000", "1000", "1000 10"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("id -u, -g, -G: %q, want %q", got, want)
	}
}

func TestPidNamespaceHidesHostProcesses(t *testing.T) {
	r := newRT(t)
	// As PID 1, ps is the only process the container can see.
	b := testutil.Bundle(t, []string{"ps", "-o", "pid,comm"}, nil)
	got := lines(r.ok("run", "--bundle", b, r.id()))
	if len(got) != 2 || strings.Join(strings.Fields(got[1]), " ") != "1 ps" {
		t.Errorf("ps in the container lists %q, want only itself as pid 1", got)
	}
}
