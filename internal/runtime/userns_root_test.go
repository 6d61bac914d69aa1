package runtime_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

const usernsHost = 100000

func withUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: usernsHost, Size: 65536}}
	s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
}

// statusField returns a field of /proc/PID/status, such as "Uid".
func statusField(t *testing.T, pid int, name string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, name)
	return nil
}

// traversable opens the directories from dir up to / for search by
// anyone: the container's root is host uid 100000, which must reach the
// rootfs through t.TempDir's 0700 directories (as with Docker's
// userns-remap, whose root directory is 0701).
func traversable(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, st.Mode().Perm()|0o111); err != nil {
			t.Fatal(err)
		}
	}
}

func usernsBundle(t *testing.T, args []string) string {
	b := testutil.Bundle(t, args, withUserNS)
	traversable(t, b)
	return b
}

func TestUserNamespaceMapsRoot(t *testing.T) {
	r := newRT(t)
	testutil.Requires(t, "userns")
	b := usernsBundle(t, sh("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map"))
	out, stderr, code := r.run("run", "--bundle", b, r.id())
	if code != 0 {
		t.Fatalf("run in a user namespace: exit %d: %s%s", code, out, stderr)
	}
	got := lines(out)
	want := []string{"0", "0", "0 100000 65536", "0 100000 65536"}
	if len(got) != len(want) {
		t.Fatalf("in the user namespace: %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(strings.Fields(got[i]), " ") != want[i] {
			t.Errorf("line %d: %q, want %q", i, got[i], want[i])
		}
	}

	b2 := usernsBundle(t, []string{"sleep", "1000"})
	id, pid := r.runDetached(b2)
	for _, f := range []string{"Uid", "Gid"} {
		if ids := statusField(t, pid, f); len(ids) != 4 || ids[0] != strconv.Itoa(usernsHost) || ids[1] != strconv.Itoa(usernsHost) {
			t.Errorf("host sees the container's init with %s %v, want %d", f, ids, usernsHost)
		}
	}
	if u := strings.TrimSpace(r.ok("exec", id, "id", "-u")); u != "0" {
		t.Errorf("exec into the user namespace: id -u %q, want 0", u)
	}
	if ns := hostNS(t, pid, "user"); ns["user"] == hostNS(t, os.Getpid(), "user")["user"] {
		t.Errorf("container init shares the host's user namespace %s", ns["user"])
	}
}

// A rootfs the container's root cannot reach (t.TempDir is 0700): create
// fails and says why, instead of a bare "permission denied".
func TestUserNamespaceUnreachableRootfs(t *testing.T) {
	r := newRT(t)
	testutil.Requires(t, "userns")
	b := testutil.Bundle(t, []string{"true"}, withUserNS)
	id := r.id()
	_, stderr, code := r.run("create", "--bundle", b, id)
	if code == 0 {
		// Reaching it as host root first would be better still.
		r.ok("delete", "-f", id)
		return
	}
	for _, w := range []string{"root.path", "host uid 100000", "searchable"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("create with a rootfs under a 0700 dir: %q does not mention %q", stderr, w)
		}
	}
	assertGone(t, r, id)
}
