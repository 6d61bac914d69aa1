package pid1

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// initProc is pier-init started by a test as a subreaper (not PID 1), with
// its child's stdout in a file the test polls.
type initProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    string
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// startInit runs pier-init with flags and `sh -c script`; its grace is short
// so that a test's leftovers go quickly.
func startInit(t *testing.T, flags []string, script string) *initProc {
	t.Helper()
	args := append([]string{"--grace", "300ms"}, flags...)
	args = append(args, "--", "sh", "-c", script)
	return startInitArgs(t, args...)
}

func startInitArgs(t *testing.T, args ...string) *initProc {
	t.Helper()
	p := &initProc{t: t, out: filepath.Join(t.TempDir(), "out"), done: make(chan struct{})}
	f, err := os.Create(p.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.cmd = exec.Command(testutil.Binary(t, "pier-init"), args...)
	p.cmd.Stdout = f
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start pier-init: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		// SIGTERM lets pier-init end its whole tree; SIGKILL is the
		// backstop and would orphan it.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("pier-init did not exit on SIGTERM")
		}
	})
	return p
}

func (p *initProc) pid() int { return p.cmd.Process.Pid }

func (p *initProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.pid(), sig); err != nil {
		p.t.Fatalf("kill %d %v: %v", p.pid(), sig, err)
	}
}

// wait returns pier-init's exit code, failing the test after timeout.
func (p *initProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("pier-init still running after %v; output %q", timeout, p.output())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait pier-init: %v", p.err)
	}
	return 0
}

func (p *initProc) output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

// count is how many lines of the child's output equal line.
func (p *initProc) count(line string) int {
	n := 0
	for _, l := range strings.Split(p.output(), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// waitLines waits until line appears at least n times in the output.
func (p *initProc) waitLines(line string, n int, timeout time.Duration) {
	p.t.Helper()
	waitFor(p.t, timeout, func() bool { return p.count(line) >= n },
		func() string {
			return "output " + strconv.Quote(p.output()) + ", want " + strconv.Itoa(n) + "x " + line
		})
}

// waitFor polls cond every millisecond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, what())
		}
		time.Sleep(time.Millisecond)
	}
}

// proc is one process as /proc/PID/stat shows it.
type proc struct {
	pid, ppid, pgrp, session, tpgid int
	state                           byte
	comm                            string
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	return parseStat(string(b))
}

func parseStat(s string) (proc, bool) {
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return proc{}, false
	}
	f := strings.Fields(s[close+1:])
	if len(f) < 6 {
		return proc{}, false
	}
	p := proc{comm: s[open+1 : close], state: f[0][0]}
	p.pid, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	p.session, _ = strconv.Atoi(f[3])
	p.tpgid, _ = strconv.Atoi(f[5])
	return p, true
}

// children lists the processes whose parent is pid, zombies included.
func children(pid int) []proc {
	var out []proc
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(n); ok && p.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

func zombies(ps []proc) int {
	n := 0
	for _, p := range ps {
		if p.state == 'Z' {
			n++
		}
	}
	return n
}

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
