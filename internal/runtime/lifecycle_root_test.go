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

var nsKinds = []string{"mnt", "uts", "ipc", "pid", "net", "cgroup"}

func TestRunIsolatesAndNamesTheContainer(t *testing.T) {
	r := newRT(t)
	script := "hostname; echo $$; for n in " + strings.Join(nsKinds, " ") + "; do readlink /proc/self/ns/$n; done; ls /proc/self/fd"
	b := testutil.Bundle(t, sh(script), func(s *specs.Spec) { s.Hostname = "isolated" })
	out := lines(r.ok("run", "--bundle", b, r.id()))
	if len(out) < 2+len(nsKinds) {
		t.Fatalf("output: %q", out)
	}
	if out[0] != "isolated" {
		t.Errorf("hostname %q, want isolated", out[0])
	}
	if out[1] != "1" {
		t.Errorf("the container's first process is pid %s, want 1", out[1])
	}
	host := hostNS(t, os.Getpid(), nsKinds...)
	for i, k := range nsKinds {
		if got := out[2+i]; got == host[k] || !strings.HasPrefix(got, k+":[") {
			t.Errorf("%s namespace %q, host has %q: want a new one", k, got, host[k])
		}
	}
	// ls sees its own stdio and the fd it reads the directory with: no
	// fd of the runtime may leak into the container.
	if fds := out[2+len(nsKinds):]; len(fds) > 4 {
		t.Errorf("container process has fds %v: something leaked", fds)
	}
}

func TestLifecycleFollowsTheSpec(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, sh("touch /tmp/started; exec sleep 1000"), func(s *specs.Spec) { s.Root.Readonly = false })
	marker := filepath.Join(b, "rootfs/tmp/started")
	id := r.id()
	r.ok("create", "--bundle", b, id)
	s := r.state(id)
	if s.Status != "created" || s.Pid <= 0 {
		t.Fatalf("after create: status %s pid %d", s.Status, s.Pid)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the user's program ran before start")
	}
	if _, stderr, code := r.run("start", id); code != 0 {
		t.Fatalf("start: %s", stderr)
	}
	waitFor(t, "the program to run", func() bool { _, err := os.Stat(marker); return err == nil })
	if s := r.state(id); s.Status != "running" {
		t.Fatalf("after start: %s", s.Status)
	}
	if _, stderr, code := r.run("start", id); code == 0 || !strings.Contains(stderr, "not created") {
		t.Errorf("second start: exit %d %q", code, stderr)
	}
	_, stderr, code := r.run("delete", id)
	if code == 0 || !strings.Contains(stderr, "not stopped") {
		t.Fatalf("delete of a running container: exit %d %q", code, stderr)
	}
	if s := r.state(id); s.Status != "running" {
		t.Fatalf("a refused delete changed the container: %s", s.Status)
	}
	r.ok("kill", id, "KILL")
	waitFor(t, "stopped", func() bool { return r.state(id).Status == "stopped" })
	r.ok("delete", id)
	if _, _, code := r.run("state", id); code == 0 {
		t.Error("state of a deleted container succeeded")
	}
}

func TestExitStatusOfRun(t *testing.T) {
	r := newRT(t)
	for _, c := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 42", 42}, {"sh -c 'kill -9 $$'; exit $?", 137}} {
		b := testutil.Bundle(t, sh(c.script), nil)
		if _, stderr, code := r.run("run", "--bundle", b, r.id()); code != c.want {
			t.Errorf("%q: exit %d, want %d (%s)", c.script, code, c.want, stderr)
		}
	}
}

func TestMountPlanIsApplied(t *testing.T) {
	r := newRT(t)
	script := `ls -l /dev/null | cut -c1; grep -c " /proc/keys .* - tmpfs " /proc/self/mountinfo;` +
		`grep " /proc/sys " /proc/self/mountinfo | grep -c " ro,";` +
		`touch /rootfile 2>/dev/null && echo rw || echo ro; grep -c " /proc rw.* - proc " /proc/self/mountinfo;` +
		`readlink /dev/ptmx; readlink /dev/fd`
	b := testutil.Bundle(t, sh(script), nil)
	got := lines(r.ok("run", "--bundle", b, r.id()))
	// /dev/null a char device, /proc/keys masked, /proc/sys read-only,
	// the root read-only, proc mounted, the /dev links in place.
	want := []string{"c", "1", "1", "ro", "1", "pts/ptmx", "/proc/self/fd"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("inside the container: %q, want %q", got, want)
	}
}

func TestExecJoinsTheContainer(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id, pid := r.runDetached(b)
	script := "for n in " + strings.Join(nsKinds, " ") + "; do readlink /proc/self/ns/$n; done"
	out := lines(r.ok("exec", id, "/bin/sh", "-c", script))
	init := hostNS(t, pid, nsKinds...)
	for i, k := range nsKinds {
		if out[i] != init[k] {
			t.Errorf("exec'd process in %s %s, the container's init in %s", k, out[i], init[k])
		}
	}
	if _, _, code := r.run("exec", id, "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exec exit status %d, want 7", code)
	}
	if got := strings.TrimSpace(r.ok("exec", "-u", "65534:65534", id, "id", "-u")); got != "65534" {
		t.Errorf("exec -u 65534: id -u says %s", got)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	r.ok("exec", "-d", "--pid-file", pidFile, id, "sleep", "1000")
	b2, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	execPid, _ := strconv.Atoi(string(b2))
	procs := r.ok("ps", "--format", "json", id)
	if !strings.Contains(procs, strconv.Itoa(execPid)) || !strings.Contains(procs, strconv.Itoa(pid)) {
		t.Errorf("ps lists %s, want the init %d and the exec'd %d", procs, pid, execPid)
	}
}
