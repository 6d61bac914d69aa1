package cli

import (
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestRunInteractivePipe(t *testing.T) {
	f := &fakeTTYDocker{exitCode: 3}
	host := startFakeTTYDocker(t, f)
	w := pipeStdin(t)
	w.WriteString("hello\n")
	w.Close()
	code, out, errs := run(t, "-H", host, "run", "-i", "busybox", "cat")
	if code != 3 || out != "hello\n" {
		t.Fatalf("run -i = %d %q %q, want 3 and the echo", code, out, errs)
	}
	calls := f.recorded()
	attach := index(calls, "POST /containers/c1/attach?stderr=1&stdin=1&stdout=1&stream=1")
	wait := index(calls, "POST /containers/c1/wait?condition=next-exit")
	start := index(calls, "POST /containers/c1/start")
	if attach < 0 || wait < 0 || start < attach || start < wait {
		t.Errorf("calls out of docker's order (attach with stdin, wait, start): %q", calls)
	}
}

func TestRunTTYNeedsATerminal(t *testing.T) {
	f := &fakeTTYDocker{}
	host := startFakeTTYDocker(t, f)
	pipeStdin(t).Close()
	code, _, errs := run(t, "-H", host, "run", "-it", "busybox", "sh")
	if code != ExitFailure || !strings.Contains(errs, "the input device is not a TTY") {
		t.Errorf("run -it from a pipe = %d %q", code, errs)
	}
	if calls := f.recorded(); len(calls) != 0 {
		t.Errorf("run -it from a pipe still called the daemon: %q", calls)
	}
}

func TestRunSigProxy(t *testing.T) {
	f := &fakeTTYDocker{}
	host := startFakeTTYDocker(t, f)
	w := pipeStdin(t)
	p := startPier(t, "-H", host, "run", "-i", "busybox", "cat")
	eventually(t, "the start", func() bool { return hasCall(f.recorded(), "POST /containers/c1/start") })
	syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
	eventually(t, "the forwarded signal", func() bool { return hasCall(f.recorded(), "POST /containers/c1/kill?signal=USR1") })
	w.Close()
	if code := p.wait(t); code != 0 {
		t.Errorf("run -i = %d: %s", code, p.err.String())
	}
}

func TestRunStartFailureExitCodes(t *testing.T) {
	for msg, want := range map[string]int{
		`exec: "nope": executable file not found in $PATH`: 127,
		`exec /etc: permission denied`:                     126,
		`cgroup: no space left on device`:                  ExitDaemon,
	} {
		f := &fakeTTYDocker{startErr: msg}
		host := startFakeTTYDocker(t, f)
		code, _, errs := run(t, "-H", host, "run", "busybox", "nope")
		if code != want || !strings.Contains(errs, msg) {
			t.Errorf("start failing with %q: run = %d %q, want %d", msg, code, errs, want)
		}
	}
}

// TestRunTTY drives `run -it --rm` from a pseudo-terminal: raw mode while
// attached, the size sent at start and on SIGWINCH, ctrl-p ctrl-q
// detaching without removing the container, the terminal restored.
func TestRunTTY(t *testing.T) {
	f := &fakeTTYDocker{}
	host := startFakeTTYDocker(t, f)
	master, slave := openPTY(t, 30, 100)
	setStdin(t, slave)
	p := startPier(t, "-H", host, "run", "-it", "--rm", "busybox", "sh")
	eventually(t, "raw mode", func() bool { return !canonical(t, slave) })
	eventually(t, "the first resize", func() bool { return hasCall(f.recorded(), "POST /containers/c1/resize?h=30&w=100") })
	master.WriteString("ls\r\x10")
	eventually(t, "the echo", func() bool { return p.out.String() == "ls\r" })
	setPTYSize(t, slave, 40, 120)
	syscall.Kill(syscall.Getpid(), syscall.SIGWINCH)
	eventually(t, "the resize", func() bool { return hasCall(f.recorded(), "POST /containers/c1/resize?h=40&w=120") })
	master.WriteString("\x11")
	if code := p.wait(t); code != 0 || p.err.String() != "" {
		t.Errorf("detach from run -it = %d %q", code, p.err.String())
	}
	if out := p.out.String(); out != "ls\r" {
		t.Errorf("the detach keys reached the container: %q", out)
	}
	if !canonical(t, slave) {
		t.Error("the terminal was left raw")
	}
	calls := f.recorded()
	if hasCall(calls, "DELETE") || hasCall(calls, "POST /containers/c1/kill") {
		t.Errorf("detaching removed or signalled the container: %q", calls)
	}
	if !hasCall(calls, "POST /containers/c1/attach?stderr=1&stdin=1&stdout=1&stream=1") {
		t.Errorf("no attach with stdin: %q", calls)
	}
}

func TestRunTTYExitCode(t *testing.T) {
	f := &fakeTTYDocker{exitCode: 5}
	host := startFakeTTYDocker(t, f)
	master, slave := openPTY(t, 24, 80)
	setStdin(t, slave)
	p := startPier(t, "-H", host, "run", "-it", "--detach-keys", "ctrl-x", "busybox", "sh")
	eventually(t, "raw mode", func() bool { return !canonical(t, slave) })
	master.WriteString("\x10\x11exit\x04") // not the detach keys now
	if code := p.wait(t); code != 5 {
		t.Errorf("run -it = %d %q, want 5", code, p.err.String())
	}
	if out := p.out.String(); out != "\x10\x11exit\x04" {
		t.Errorf("output %q", out)
	}
	if !canonical(t, slave) {
		t.Error("the terminal was left raw")
	}
	if !hasCall(f.recorded(), "POST /containers/c1/attach?detachKeys=ctrl-x") {
		t.Errorf("detach keys not passed to the daemon: %q", f.recorded())
	}
}

func TestRunBadDetachKeys(t *testing.T) {
	host := startFakeTTYDocker(t, &fakeTTYDocker{})
	code, _, errs := run(t, "-H", host, "run", "--detach-keys", "ctrl-1", "busybox")
	if code != ExitDaemon || !strings.Contains(errs, "Invalid detach keys (ctrl-1) provided") {
		t.Errorf("run --detach-keys ctrl-1 = %d %q", code, errs)
	}
}

func TestAttachTTYDetach(t *testing.T) {
	f := &fakeTTYDocker{tty: true, openStdin: true}
	host := startFakeTTYDocker(t, f)
	master, slave := openPTY(t, 30, 100)
	setStdin(t, slave)
	p := startPier(t, "-H", host, "attach", "c1")
	eventually(t, "raw mode", func() bool { return !canonical(t, slave) })
	master.WriteString("pwd\r")
	eventually(t, "the echo", func() bool { return p.out.String() == "pwd\r" })
	master.WriteString("\x10\x11")
	if code := p.wait(t); code != ExitFailure || !strings.Contains(p.err.String(), "read escape sequence") {
		t.Errorf("detach from attach = %d %q, want docker's 1 and message", code, p.err.String())
	}
	if !canonical(t, slave) {
		t.Error("the terminal was left raw")
	}
	calls := f.recorded()
	// One size off first, so the shell redraws, then the real one.
	off, real := index(calls, "POST /containers/c1/resize?h=31&w=101"), index(calls, "POST /containers/c1/resize?h=30&w=100")
	if off < 0 || real < off {
		t.Errorf("resizes %q", calls)
	}
}

func TestAttachNoStdin(t *testing.T) {
	f := &fakeTTYDocker{openStdin: true, exitCode: 2}
	host := startFakeTTYDocker(t, f)
	code, out, errs := run(t, "-H", host, "attach", "--no-stdin", "c1")
	if code != 2 || out != "hello\n" {
		t.Errorf("attach --no-stdin = %d %q %q", code, out, errs)
	}
	if calls := f.recorded(); !slices.Contains(calls, "POST /containers/c1/attach?stderr=1&stdout=1&stream=1") {
		t.Errorf("calls %q", calls)
	}
}

func TestStartAttachInteractive(t *testing.T) {
	f := &fakeTTYDocker{openStdin: true, exitCode: 7}
	host := startFakeTTYDocker(t, f)
	w := pipeStdin(t)
	w.WriteString("abc")
	w.Close()
	code, out, errs := run(t, "-H", host, "start", "-ai", "c1")
	if code != 7 || out != "abc" {
		t.Errorf("start -ai = %d %q %q", code, out, errs)
	}
	calls := f.recorded()
	attach, start := index(calls, "POST /containers/c1/attach?stderr=1&stdin=1"), index(calls, "POST /containers/c1/start")
	if attach < 0 || start < attach || index(calls, "POST /containers/c1/wait?condition=next-exit") > start {
		t.Errorf("calls %q", calls)
	}
	if code, _, errs := run(t, "-H", host, "start", "-a", "c1", "c2"); code != ExitFailure || !strings.Contains(errs, "cannot start and attach multiple") {
		t.Errorf("start -a of two = %d %q", code, errs)
	}
}

func TestExecInteractivePipe(t *testing.T) {
	f := &fakeTTYDocker{exitCode: 4}
	host := startFakeTTYDocker(t, f)
	w := pipeStdin(t)
	w.WriteString("data")
	w.Close()
	code, out, errs := run(t, "-H", host, "exec", "-i", "c1", "cat")
	if code != 4 || out != "data" {
		t.Errorf("exec -i = %d %q %q", code, out, errs)
	}
	if c := f.created; !c.AttachStdin || c.Tty || c.ConsoleSize != nil {
		t.Errorf("exec create %+v", c)
	}
}

func TestExecTTY(t *testing.T) {
	f := &fakeTTYDocker{exitCode: 9}
	host := startFakeTTYDocker(t, f)
	master, slave := openPTY(t, 30, 100)
	setStdin(t, slave)
	p := startPier(t, "-H", host, "exec", "-it", "c1", "sh")
	eventually(t, "raw mode", func() bool { return !canonical(t, slave) })
	setPTYSize(t, slave, 50, 132)
	syscall.Kill(syscall.Getpid(), syscall.SIGWINCH)
	eventually(t, "the resize", func() bool { return hasCall(f.recorded(), "POST /exec/e1/resize?h=50&w=132") })
	master.WriteString("id\r\x04")
	if code := p.wait(t); code != 9 || p.out.String() != "id\r\x04" {
		t.Errorf("exec -it = %d %q %q", code, p.out.String(), p.err.String())
	}
	f.mu.Lock()
	c := f.created
	f.mu.Unlock()
	if !c.Tty || !c.AttachStdin || c.ConsoleSize == nil || *c.ConsoleSize != [2]uint{30, 100} {
		t.Errorf("exec create %+v", c)
	}
	if !canonical(t, slave) {
		t.Error("the terminal was left raw")
	}
}

func TestExecTTYDetach(t *testing.T) {
	f := &fakeTTYDocker{}
	host := startFakeTTYDocker(t, f)
	master, slave := openPTY(t, 24, 80)
	setStdin(t, slave)
	p := startPier(t, "-H", host, "exec", "-it", "--detach-keys", "ctrl-a,d", "c1", "sh")
	eventually(t, "raw mode", func() bool { return !canonical(t, slave) })
	master.WriteString("\x01d")
	if code := p.wait(t); code != ExitFailure || !strings.Contains(p.err.String(), "read escape sequence") {
		t.Errorf("exec -it detach = %d %q", code, p.err.String())
	}
	if f.created.DetachKeys != "ctrl-a,d" {
		t.Errorf("detach keys not passed: %+v", f.created)
	}
}
