package e2e_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// termProc is a command whose stdio is the slave of a pseudo-terminal we
// hold the master of: a user at a terminal, as the docker CLI sees it.
type termProc struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer // Guarded by mu.
	done   chan struct{}
	err    error
}

// startTerm runs name with a new session whose controlling terminal is a
// fresh 24x80 pty.
func startTerm(t *testing.T, name string, args ...string) *termProc {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	p := &termProc{t: t, master: master, done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir(), "TERM=xterm")
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf) // EIO once the last slave fd closes
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		case <-time.After(bound(10 * time.Second)):
			t.Errorf("%s %v still runs; output %q", name, args, p.output())
			p.cmd.Process.Kill()
			<-p.done
		}
		master.Close()
	})
	return p
}

func (p *termProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *termProc) send(s string) {
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatalf("type %q: %v", s, err)
	}
}

// expect waits for want in the output after byte offset from and
// returns the offset after it.
func (p *termProc) expect(from int, want string) int {
	p.t.Helper()
	deadline := time.Now().Add(bound(10 * time.Second))
	for {
		out := p.output()
		if i := strings.Index(out[min(from, len(out)):], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q in the terminal's output %q", want, out[min(from, len(out)):])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// resize changes the terminal's size: the kernel sends the docker CLI a
// SIGWINCH, and it tells pierd.
func (p *termProc) resize(rows, cols uint16) {
	if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		p.t.Fatal(err)
	}
}

// wait returns the command's exit code.
func (p *termProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(bound(10 * time.Second)):
		p.t.Fatalf("still running; output %q", p.output())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// TestDockerRunInteractiveTerminal: `docker run -it` at a terminal gets
// one in the container, follows its size and returns its exit code, with
// pier-runtime and runc (crun refuses this machine's hybrid cgroups).
func TestDockerRunInteractiveTerminal(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	for _, rt := range []string{"pier-runtime", "runc"} {
		t.Run(rt, func(t *testing.T) {
			args := []string{"--host", d.host, "run", "-it", "--rm", "--network", "none"}
			if rt != "pier-runtime" {
				if _, err := exec.LookPath(rt); err != nil {
					t.Skipf("%s: not installed", rt)
				}
				args = append(args, "--runtime", rt)
			}
			p := startTerm(t, dockers[0], append(args, "busybox", "sh")...)
			interactiveShell(t, p)
			noContainersLeft(t, d)
		})
	}
}

// interactiveShell drives a busybox sh at the terminal of p.
func interactiveShell(t *testing.T, p *termProc) {
	at := p.expect(0, "# ")
	p.send("echo h''i; tty\r")
	at = p.expect(at, "hi\r\n/dev/pts/0")
	p.resize(33, 101)
	// The resize travels CLI → pierd → monitor: ask until it has arrived.
	for deadline := time.Now().Add(bound(5 * time.Second)); ; {
		p.send("stty size\r")
		time.Sleep(100 * time.Millisecond)
		if strings.Contains(p.output()[at:], "33 101") || time.Now().After(deadline) {
			break
		}
	}
	p.expect(at, "33 101")
	p.send("exit 3\r")
	if code := p.wait(); code != 3 {
		t.Errorf("docker run -it exited %d, want 3; output %q", code, p.output())
	}
}

// TestDockerRunStdinPipe: `docker run -i` without a terminal passes a
// pipe's bytes to the container, and its EOF, with both docker CLIs.
func TestDockerRunStdinPipe(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	for _, docker := range dockers {
		t.Run(docker, func(t *testing.T) {
			if _, err := os.Stat(docker); err != nil {
				t.Skipf("%s: no such docker CLI here: %v", docker, err)
			}
			cmd := exec.Command(docker, "--host", d.host, "run", "-i", "--rm", "--network", "none", "busybox", "sh", "-c", "cat; echo end >&2")
			cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir())
			cmd.Stdin = strings.NewReader("line one\nline two\n")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil || out.String() != "line one\nline two\n" || errb.String() != "end\n" {
				t.Errorf("run -i cat = %v, stdout %q, stderr %q", err, out.String(), errb.String())
			}
		})
	}
	noContainersLeft(t, d)
}

// TestDockerExecAttachDetachSurvive: exec -it and exec -i in a -it
// container; attach and detach with ctrl-p ctrl-q; after kill -9 of
// pierd the monitor still holds the terminal and attach works again.
func TestDockerExecAttachDetachSurvive(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dir := d.dir
	docker := dockers[0]
	if code, out, errs := run(t, docker, "--host", d.host, "run", "-dit", "--name", "term", "--network", "none", "busybox", "sh"); code != 0 {
		t.Fatalf("run -dit = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { run(t, docker, "--host", d.host, "rm", "-f", "term") })

	e := startTerm(t, docker, "--host", d.host, "exec", "-it", "term", "sh")
	at := e.expect(0, "# ")
	e.send("echo in-''exec; tty\r")
	e.expect(at, "in-exec\r\n/dev/pts/1")
	e.send("exit 4\r")
	if code := e.wait(); code != 4 {
		t.Errorf("exec -it exited %d, want 4; output %q", code, e.output())
	}
	cmd := exec.Command(docker, "--host", d.host, "exec", "-i", "term", "cat")
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir())
	cmd.Stdin = strings.NewReader("piped\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "piped\n" {
		t.Errorf("exec -i cat = %v %q", err, out)
	}

	a := startTerm(t, docker, "--host", d.host, "attach", "term")
	a.send("echo att''ached\r")
	a.expect(0, "attached")
	a.send("\x10\x11") // ctrl-p ctrl-q
	a.wait()
	if _, out, _ := run(t, docker, "--host", d.host, "inspect", "-f", "{{.State.Running}}", "term"); out != "true\n" {
		t.Fatalf("after detach the container runs: %q", out)
	}

	rawAttachDetach(t, d, "term")

	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d = startPierd(t, dir)
	a = startTerm(t, docker, "--host", d.host, "attach", "term")
	a.send("echo b''ack\r")
	a.expect(0, "back")
	a.send("exit 6\r")
	if code := a.wait(); code != 6 {
		t.Errorf("attach after pierd's restart exited %d, want 6; output %q", code, a.output())
	}
	// start -ai attaches before the start: the prompt is not lost.
	a = startTerm(t, docker, "--host", d.host, "start", "-ai", "term")
	a.expect(0, "# ")
	a.send("exit 2\r")
	if code := a.wait(); code != 2 {
		t.Errorf("start -ai exited %d, want 2; output %q", code, a.output())
	}
}

// rawAttachDetach attaches to container name with stdin over a hijacked
// connection, as a client that leaves detaching to the server, types
// ctrl-a ctrl-b (its detachKeys) and sees the server end the stream.
func rawAttachDetach(t *testing.T, d *pierd, name string) {
	t.Helper()
	conn, err := net.Dial("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1.47/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-a,ctrl-b HTTP/1.1\r\n"+
		"Host: pierd\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", name)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("attach: %v %v", resp, err)
	}
	fmt.Fprint(conn, "echo r''aw\r")
	var out bytes.Buffer
	buf := make([]byte, 512)
	conn.SetReadDeadline(time.Now().Add(bound(10 * time.Second)))
	for !strings.Contains(out.String(), "raw") {
		n, err := br.Read(buf)
		if err != nil {
			t.Fatalf("raw attach output %q: %v", out.String(), err)
		}
		out.Write(buf[:n])
	}
	fmt.Fprint(conn, "\x01\x02")
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Errorf("after the detach keys: %v, want the server to end the stream", err)
	}
	if _, out, _ := run(t, dockers[0], "--host", d.host, "inspect", "-f", "{{.State.Running}}", name); out != "true\n" {
		t.Fatalf("after a server-side detach the container runs: %q", out)
	}
}
