package e2e_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// ptyProc is a command whose stdin, stdout and stderr are the slave of a
// pseudo-terminal that is its controlling terminal, as a user's shell
// would give it; the test types on the master and reads the screen there.
type ptyProc struct {
	master *os.File
	screen *testutil.SyncBuffer
	cmd    *exec.Cmd
	done   chan struct{} // closed when the command has exited
	code   int
}

func startOnPTY(t *testing.T, rows, cols uint16, name string, args ...string) *ptyProc {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // the child keeps its own copies
	p := &ptyProc{master: m, screen: &testutil.SyncBuffer{}, done: make(chan struct{})}
	p.resize(t, rows, cols)
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir())
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = s, s, s
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Reading ends with EIO once no process holds the slave.
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// resize sets the terminal's size; the kernel sends SIGWINCH to the
// command, the terminal's foreground process.
func (p *ptyProc) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("TIOCSWINSZ: %v", err)
	}
}

func (p *ptyProc) send(t *testing.T, keys string) {
	t.Helper()
	if _, err := p.master.WriteString(keys); err != nil {
		t.Fatalf("type %q: %v", keys, err)
	}
}

// expect waits until the screen shows want after mark, an offset in
// what the screen has shown, and returns the mark just past it.
func (p *ptyProc) expect(t *testing.T, mark int, want string) int {
	t.Helper()
	end, ok := p.shows(mark, want, 10*time.Second)
	if !ok {
		t.Fatalf("the screen never showed %q; it has %q", want, p.screen.String()[mark:])
	}
	return end
}

func (p *ptyProc) shows(mark int, want string, timeout time.Duration) (int, bool) {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		screen := p.screen.String()
		if i := strings.Index(screen[mark:], want); i >= 0 {
			return mark + i + len(want), true
		}
		if time.Now().After(deadline) {
			return mark, false
		}
	}
}

// retype types keys until the screen shows want: a resize travels pier →
// pierd → monitor while the shell may already have answered.
func (p *ptyProc) retype(t *testing.T, mark int, keys, want string) int {
	t.Helper()
	for range 20 {
		p.send(t, keys)
		if end, ok := p.shows(mark, want, 500*time.Millisecond); ok {
			return end
		}
	}
	t.Fatalf("the screen never showed %q; it has %q", want, p.screen.String()[mark:])
	return mark
}

func (p *ptyProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not exit; screen %q", p.cmd.Args, p.screen.String())
		return -1
	}
}

// TestCLITTY is `pier run -it` from a terminal: a shell that sees the
// terminal's size and its changes, ctrl-p ctrl-q leaving it running,
// `pier attach` back to it and its exit code; `pier exec -it`; and
// `pier run -i` reading a pipe.
func TestCLITTY(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	p := func(args ...string) (int, string, string) {
		return run(t, pier, append([]string{"-H", d.host}, args...)...)
	}
	t.Cleanup(func() { p("rm", "-f", "tty1", "tty2") })

	sh := startOnPTY(t, 30, 100, pier, "-H", d.host, "run", "-it", "--name", "tty1", "busybox", "sh")
	m := sh.expect(t, 0, "# ")
	sh.send(t, "stty size\r")
	m = sh.expect(t, m, "30 100")
	sh.resize(t, 40, 120)
	m = sh.retype(t, m, "stty size\r", "40 120")
	sh.send(t, "echo $((6*7))\r")
	sh.expect(t, m, "42")
	sh.send(t, "\x10\x11")
	if code := sh.wait(t); code != 0 {
		t.Fatalf("detach from run -it = %d; screen %q", code, sh.screen.String())
	}
	if code, out, errs := p("inspect", "-f", "{{.State.Running}}", "tty1"); code != 0 || out != "true\n" {
		t.Fatalf("after detaching, running = %d %q %q", code, out, errs)
	}

	at := startOnPTY(t, 30, 100, pier, "-H", d.host, "attach", "tty1")
	time.Sleep(200 * time.Millisecond)
	at.send(t, "echo back$((1+1))\r")
	at.expect(t, 0, "back2")
	at.send(t, "exit 3\r")
	if code := at.wait(t); code != 3 {
		t.Errorf("attach, exit 3 = %d; screen %q", code, at.screen.String())
	}

	if code, out, errs := p("run", "-d", "--name", "tty2", "busybox", "sleep", "1000"); code != 0 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	ex := startOnPTY(t, 25, 90, pier, "-H", d.host, "exec", "-it", "tty2", "sh")
	m = ex.expect(t, 0, "# ")
	ex.send(t, "stty size\r")
	m = ex.expect(t, m, "25 90")
	ex.resize(t, 35, 110)
	ex.retype(t, m, "stty size\r", "35 110")
	ex.send(t, "exit 5\r")
	if code := ex.wait(t); code != 5 {
		t.Errorf("exec -it, exit 5 = %d; screen %q", code, ex.screen.String())
	}

	piped := func(in string, args ...string) (string, error) {
		c := exec.Command(pier, append([]string{"-H", d.host}, args...)...)
		c.Stdin = strings.NewReader(in)
		c.Env = cleanEnv()
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := piped("hello\n", "run", "-i", "--rm", "busybox", "cat"); err != nil || out != "hello\n" {
		t.Errorf("echo hello | pier run -i busybox cat = %v %q", err, out)
	}
	if code, out, errs := p("create", "-i", "--name", "tty3", "busybox", "cat"); code != 0 {
		t.Fatalf("create -i = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { p("rm", "-f", "tty3") })
	if out, err := piped("again\n", "start", "-ai", "tty3"); err != nil || out != "again\n" {
		t.Errorf("echo again | pier start -ai = %v %q", err, out)
	}
}

// TestCLIExitCodes: docker's 127 for a command that is not there, 126
// for one that cannot run, with pier-init and without.
func TestCLIExitCodes(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"busybox", "nosuchcmd"}, 127},
		{[]string{"busybox", "/etc"}, 126},
		{[]string{"--init=false", "busybox", "nosuchcmd"}, 127},
		{[]string{"busybox", "sh", "-c", "exit 7"}, 7},
	} {
		args := append([]string{"-H", d.host, "run", "--rm"}, c.args...)
		if code, out, errs := run(t, pier, args...); code != c.want {
			t.Errorf("pier run %q = %d %q %q, want %d", c.args, code, out, errs, c.want)
		}
	}
	// -a names the streams the CLI shows: the container's stderr is not.
	if code, out, errs := run(t, pier, "-H", d.host, "run", "--rm", "-a", "stdout", "busybox", "sh", "-c", "echo out; echo err >&2"); code != 0 || out != "out\n" || strings.Contains(errs, "err") {
		t.Errorf("pier run -a stdout = %d %q %q, want only out", code, out, errs)
	}
	if code, _, errs := run(t, pier, "-H", d.host, "run", "-d", "-a", "stdout", "busybox", "true"); code != 125 || !strings.Contains(errs, "Conflicting options: -a and -d") {
		t.Errorf("pier run -d -a = %d %q", code, errs)
	}
	// docker run --rm waits for the removal even when the start fails:
	// pierd removes the container then, as dockerd does.
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, out, errs := run(t, dockers[0], "--host", d.host, "run", "--rm", "--init=false", "busybox", "nosuchcmd")
		if code != 127 || !strings.Contains(errs, "nosuchcmd") {
			t.Errorf("docker run --rm --init=false busybox nosuchcmd = %d %q %q, want 127", code, out, errs)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("docker run --rm of a failing start still waits after 20 s")
	}
	noContainersLeft(t, d)
}
