package buildkitd

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fakeChildEnv makes the test binary act as pier-buildkitd: it serves
// "ok" on --socket and stops when its parent's pipe closes or on SIGINT.
const fakeChildEnv = "PIER_TEST_FAKE_BUILDKITD"

func fakeChild(args []string) int {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	sock := fs.String("socket", "", "")
	fd := fs.Int("parent-fd", 0, "")
	fs.String("root", "", "")
	fs.String("runtime", "", "")
	fs.String("store", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	stop := make(chan struct{}, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT)
	go func() { <-sigs; stop <- struct{}{} }()
	if *fd > 0 {
		go func() { _, _ = io.Copy(io.Discard, os.NewFile(uintptr(*fd), "parent")); stop <- struct{}{} }()
	}
	if *sock != "" {
		_ = os.Remove(*sock)
		l, err := net.Listen("unix", *sock)
		if err != nil {
			return 1
		}
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	}
	<-stop
	return 0
}

// fakeExe is the test binary under the name pier-buildkitd.
func fakeExe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pier-buildkitd")
	if err := os.Symlink(self, p); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeChildEnv, "1")
	return p
}

func newTestSupervisor(t *testing.T, idle time.Duration) (*Supervisor, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(Config{Exe: fakeExe(t), Root: filepath.Join(dir, "buildkit"), RunDir: filepath.Join(dir, "buildkitd"),
		Runtime: "/bin/true", Images: &fakeImages{}, IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// ask sends GET / over a new connection to the child.
func ask(t *testing.T, s *Supervisor) {
	t.Helper()
	conn, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://child/", nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "ok" {
		t.Fatalf("child answered %q", b)
	}
}

func childPid(t *testing.T, s *Supervisor) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		t.Fatal("no child")
	}
	return s.c.cmd.Process.Pid
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil && !zombie(pid) }

func zombie(pid int) bool {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] == 'Z'
		}
	}
	return false
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

// TestSupervisorLifecycle: no child until the first Dial; a killed child
// is replaced on the next Dial; Close stops the child and removes the
// sockets and the pid file.
func TestSupervisorLifecycle(t *testing.T) {
	s, dir := newTestSupervisor(t, 0)
	if s.Started() {
		t.Fatal("a child before any Dial")
	}
	ask(t, s)
	first := childPid(t, s)
	if pf, _ := os.ReadFile(filepath.Join(dir, "buildkitd", pidFile)); string(pf) != strconv.Itoa(first) {
		t.Errorf("pid file %q, want %d", pf, first)
	}
	_ = syscall.Kill(first, syscall.SIGKILL)
	waitUntil(t, "the killed child is reaped", func() bool { return !s.Started() })
	ask(t, s)
	second := childPid(t, s)
	if second == first {
		t.Fatalf("no new child after the crash")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if alive(second) {
		t.Errorf("child %d outlived Close", second)
	}
	for _, f := range []string{childSocket, storeSocket, pidFile} {
		if _, err := os.Lstat(filepath.Join(dir, "buildkitd", f)); err == nil {
			t.Errorf("%s left after Close", f)
		}
	}
	if _, err := s.Dial(context.Background()); err == nil {
		t.Error("Dial after Close started a child")
	}
}

// TestSupervisorIdle: the child stops once no connection has been open
// for IdleTimeout, not while one is.
func TestSupervisorIdle(t *testing.T) {
	s, _ := newTestSupervisor(t, 200*time.Millisecond)
	conn, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pid := childPid(t, s)
	time.Sleep(500 * time.Millisecond)
	if !s.Started() {
		t.Fatal("child stopped while a connection was open")
	}
	conn.Close()
	waitUntil(t, "the idle child stops", func() bool { return !s.Started() && !alive(pid) })
	ask(t, s)
	if childPid(t, s) == pid {
		t.Error("no new child after the idle stop")
	}
}

// TestSweep: New stops a pier-buildkitd serving its root that an earlier
// pierd (killed) left, and nothing else.
func TestSweep(t *testing.T) {
	exe := fakeExe(t)
	dir := t.TempDir()
	root, run := filepath.Join(dir, "buildkit"), filepath.Join(dir, "buildkitd")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	start := func(root string) *exec.Cmd {
		cmd := exec.Command(exe, "--root", root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	other := start(filepath.Join(dir, "other"))
	stray := start(root)
	waitUntil(t, "the stray runs", func() bool { return isChild(stray.Process.Pid, root) })
	done := make(chan struct{})
	go func() { _ = stray.Wait(); close(done) }()
	for _, pid := range []int{other.Process.Pid, stray.Process.Pid} {
		if err := os.WriteFile(filepath.Join(run, pidFile), []byte(strconv.Itoa(pid)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{Exe: exe, Root: root, RunDir: run, Runtime: "/bin/true", Images: &fakeImages{}}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stray child of this root still runs")
	}
	if !alive(other.Process.Pid) {
		t.Error("the sweep stopped a pier-buildkitd of another root")
	}
	if _, err := os.Stat(filepath.Join(run, pidFile)); err == nil {
		t.Error("pid file left")
	}
}
