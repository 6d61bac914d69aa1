package runtime_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// consoleSocket listens where a runtime can hand over a pty master, as
// containerd's shim does. Receive returns the master and the pty name the
// runtime sent with it.
type consoleSocket struct {
	t    *testing.T
	path string
	got  chan consoleResult
}

type consoleResult struct {
	master *os.File
	name   string
	err    error
}

func listenConsole(t *testing.T) *consoleSocket {
	t.Helper()
	c := &consoleSocket{t: t, path: filepath.Join(t.TempDir(), "console.sock"), got: make(chan consoleResult, 1)}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { c.got <- acceptMaster(ln) }()
	return c
}

func acceptMaster(ln *net.UnixListener) consoleResult {
	conn, err := ln.AcceptUnix()
	if err != nil {
		return consoleResult{err: err}
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return consoleResult{err: err}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return consoleResult{err: errors.New("no control message with the pty master")}
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return consoleResult{err: errors.New("the control message does not carry exactly one fd")}
	}
	// Non-blocking, so reads honour deadlines.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return consoleResult{err: err}
	}
	return consoleResult{master: os.NewFile(uintptr(fds[0]), "pty-master"), name: string(buf[:n])}
}

func (c *consoleSocket) receive() (*os.File, string) {
	c.t.Helper()
	select {
	case res := <-c.got:
		if res.err != nil {
			c.t.Fatalf("console socket: %v", res.err)
		}
		c.t.Cleanup(func() { res.master.Close() })
		return res.master, res.name
	case <-time.After(5 * time.Second):
		c.t.Fatal("no pty master arrived on the console socket")
	}
	return nil, ""
}

// readUntil reads the pty master until its output contains want.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 1024)
	deadline := time.Now().Add(5 * time.Second)
	_ = f.SetReadDeadline(deadline)
	for !strings.Contains(string(out), want) {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the pty for %q: %v; got %q", want, err, out)
		}
	}
	return string(out)
}

func terminalBundle(t *testing.T, args []string) string {
	return testutil.Bundle(t, args, func(s *specs.Spec) { s.Process.Terminal = true })
}

func TestConsoleSocketGetsThePty(t *testing.T) {
	r := newRT(t)
	b := terminalBundle(t, sh("tty; echo ok; read x; echo got $x; exec sleep 1000"))
	con := listenConsole(t)
	id := r.id()
	r.ok("run", "-d", "--console-socket", con.path, "--bundle", b, id)
	master, name := con.receive()
	if name != "/dev/pts/0" {
		t.Errorf("pty name sent with the master: %q, want /dev/pts/0", name)
	}
	out := readUntil(t, master, "ok")
	if !strings.Contains(out, "/dev/pts/0") {
		t.Errorf("tty in the container printed %q, want /dev/pts/0", out)
	}
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, master, "got hello")

	// exec -t gets a pty of its own in the container's devpts.
	con2 := listenConsole(t)
	r.ok("exec", "-t", "-d", "--console-socket", con2.path, id, "sh", "-c", "tty; read y; echo exec got $y; exit 3")
	m2, name2 := con2.receive()
	if name2 != "/dev/pts/1" {
		t.Errorf("pty name of exec -t: %q, want /dev/pts/1", name2)
	}
	if out := readUntil(t, m2, "/dev/pts/1"); strings.Contains(out, "not a tty") {
		t.Errorf("exec -t: tty printed %q", out)
	}
	if _, err := m2.Write([]byte("there\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, m2, "exec got there")
}

func TestTerminalNeedsAConsoleSocket(t *testing.T) {
	r := newRT(t)
	b := terminalBundle(t, []string{"true"})
	for _, args := range [][]string{{"run", "-d"}, {"create"}} {
		id := r.id()
		_, stderr, code := r.run(append(args, "--bundle", b, id)...)
		if code == 0 || !strings.Contains(stderr, "console-socket") || !strings.Contains(stderr, "terminal") {
			t.Errorf("%v with process.terminal and no --console-socket: exit %d %q", args, code, stderr)
		}
		assertGone(t, r, id)
	}
	// Same for exec -t into a running container.
	id, _ := r.runDetached(testutil.Bundle(t, []string{"sleep", "1000"}, nil))
	if _, stderr, code := r.run("exec", "-t", "-d", id, "true"); code == 0 || !strings.Contains(stderr, "console-socket") {
		t.Errorf("exec -t -d with no --console-socket: exit %d %q", code, stderr)
	}
}
