package pid1

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run pier-init as an ordinary process, a child subreaper, with
// real `sh -c` children: everything but being PID 1.

func TestExitCodesPropagate(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"exit 0", []string{"sh", "-c", "exit 0"}, 0, ""},
		{"exit 42", []string{"sh", "-c", "exit 42"}, 42, ""},
		{"not executable", []string{notExec}, 126, notExec + ": Permission denied"},
		{"directory", []string{dir}, 126, dir + ": Permission denied"},
		{"not in PATH", []string{"no-such-command-pier"}, 127, "no-such-command-pier: command not found"},
		{"no such file", []string{"/no/such/file"}, 127, "/no/such/file: No such file or directory"},
		{"SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 137, ""},
		{"SIGTERM", []string{"sh", "-c", "kill -TERM $$"}, 143, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startInitArgs(t, append([]string{"--"}, tt.args...)...)
			if code := p.wait(5 * time.Second); code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, p.stderr.String())
			}
			if tt.stderr != "" && !strings.Contains(p.stderr.String(), "pier-init: "+tt.stderr+"\n") {
				t.Errorf("stderr %q, want it to say %q", p.stderr.String(), tt.stderr)
			}
		})
	}
}

// A child with no handler of its own dies of the forwarded SIGTERM: it is not
// PID 1, so the default action applies.
func TestSIGTERMStopsHandlerlessChild(t *testing.T) {
	p := startInitArgs(t, "sleep", "1000")
	waitFor(t, 5*time.Second, func() bool {
		c := children(p.pid())
		return len(c) == 1 && c[0].comm == "sleep"
	}, func() string { return "no sleep child" })
	start := time.Now()
	p.signal(syscall.SIGTERM)
	if code := p.wait(time.Second); code != 143 {
		t.Errorf("exit code %d, want 143", code)
	}
	t.Logf("SIGTERM to exit: %v", time.Since(start))
}

const trapUSR1 = `trap 'echo USR1' USR1; echo ready; while :; do sleep 0.02; done`

func TestForwardsSIGUSR1(t *testing.T) {
	p := startInit(t, nil, trapUSR1)
	p.waitLines("ready", 1, 5*time.Second)
	p.signal(syscall.SIGUSR1)
	p.waitLines("USR1", 1, 2*time.Second)
	p.signal(syscall.SIGTERM)
	if code := p.wait(2 * time.Second); code != 143 {
		t.Errorf("exit code %d after SIGTERM, want 143", code)
	}
}

// In group mode the grandchild, which shares the child's process group, gets
// the signal too; by default only the child does.
func TestGroupMode(t *testing.T) {
	script := `sh -c "trap 'echo grandchild' USR1; echo ready; while :; do sleep 0.02; done" &
trap 'echo child' USR1; echo ready; while :; do sleep 0.02; done`
	for _, group := range []bool{false, true} {
		var flags []string
		if group {
			flags = []string{"-g"}
		}
		p := startInit(t, flags, script)
		p.waitLines("ready", 2, 5*time.Second)
		p.signal(syscall.SIGUSR1)
		p.waitLines("child", 1, 2*time.Second)
		if group {
			p.waitLines("grandchild", 1, 2*time.Second)
		} else {
			time.Sleep(300 * time.Millisecond)
			if n := p.count("grandchild"); n != 0 {
				t.Errorf("default mode: the grandchild got SIGUSR1 %d times, want 0", n)
			}
		}
		p.signal(syscall.SIGTERM)
		p.wait(5 * time.Second)
	}
}

// Orphans re-parented to pier-init are reaped: none stays a zombie.
func TestReapsOrphans(t *testing.T) {
	p := startInit(t, nil, `for i in 1 2 3 4 5; do (sleep 0.3 &); done; echo ready; exec sleep 1000`)
	p.waitLines("ready", 1, 5*time.Second)
	// The five orphans are pier-init's now, beside its child.
	if n := len(children(p.pid())); n < 6 {
		t.Fatalf("pier-init has %d children, want the child and 5 orphans", n)
	}
	waitFor(t, 3*time.Second, func() bool { return len(children(p.pid())) == 1 },
		func() string { return "orphans left: " + describeProcs(children(p.pid())) })
}

func describeProcs(ps []proc) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.comm + "(" + string(p.state) + ") ")
	}
	return b.String()
}

// After the child exits, leftovers get SIGTERM, and SIGKILL after the grace
// if they ignore it; pier-init still exits with the child's code.
func TestStopsLeftovers(t *testing.T) {
	for _, tt := range []struct {
		name, leftover string // leftover: what it runs before sleeping
		min, max       time.Duration
	}{
		{"dies on SIGTERM", "", 0, 250 * time.Millisecond},
		{"ignores SIGTERM", "trap '' TERM;", 300 * time.Millisecond, 1200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The child exits as soon as the leftover is set up.
			ok := filepath.Join(t.TempDir(), "ok")
			p := startInit(t, nil, `sh -c "`+tt.leftover+` touch `+ok+`; exec sleep 1000" &
while [ ! -e `+ok+` ]; do sleep 0.01; done; echo ready; exit 7`)
			p.waitLines("ready", 1, 5*time.Second)
			start := time.Now()
			code := p.wait(3 * time.Second)
			took := time.Since(start)
			if code != 7 {
				t.Errorf("exit code %d, want the child's 7", code)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("exited %v after the child, want between %v and %v", took, tt.min, tt.max)
			}
		})
	}
}
