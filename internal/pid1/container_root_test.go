package pid1

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Root tests: real busybox containers through an OCI runtime ($RuntimeEnv),
// with pier-init as PID 1 and, for contrast, without it.

func TestContainerSIGTERM(t *testing.T) {
	c := runContainer(t, []string{}, "sleep", "1000")
	start := time.Now()
	c.kill("TERM")
	code, ok := c.exited(time.Second)
	if !ok {
		t.Fatalf("with pier-init, SIGTERM did not end `sleep 1000` within 1s")
	}
	if code != 143 {
		t.Errorf("exit code %d, want 143", code)
	}
	t.Logf("with pier-init: SIGTERM to exit in %v", time.Since(start))

	bare := runContainer(t, nil, "sleep", "1000")
	bare.kill("TERM")
	if _, ok := bare.exited(time.Second); ok {
		t.Fatalf("without pier-init, `sleep 1000` as PID 1 ended on SIGTERM: the contrast is gone")
	}
	bare.kill("KILL")
	bare.wait(5 * time.Second)
}

func TestContainerTrap(t *testing.T) {
	c := runContainer(t, []string{}, "sh", "-c",
		`trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 1; done`)
	c.waitOutput("ready", 5*time.Second)
	c.kill("TERM")
	if code := c.wait(3 * time.Second); code != 3 {
		t.Errorf("exit code %d, want the trap's 3", code)
	}
	c.waitOutput("got TERM", time.Second)
}

func TestContainerSIGUSR1(t *testing.T) {
	script := `sh -c "trap 'echo grandchild' USR1; echo ready; while :; do sleep 0.1; done" &
trap 'echo child' USR1; echo ready; while :; do sleep 0.1; done`
	for _, group := range []bool{false, true} {
		t.Run("group="+strconv.FormatBool(group), func(t *testing.T) {
			flags := []string{}
			if group {
				flags = []string{"-g"}
			}
			c := runContainer(t, flags, "sh", "-c", script)
			waitFor(t, 5*time.Second, func() bool { return countLines(c.output(), "ready") == 2 },
				func() string { return "not ready: " + c.output() })
			c.kill("USR1")
			c.waitOutput("child\n", 2*time.Second)
			if group {
				c.waitOutput("grandchild\n", 2*time.Second)
			} else {
				time.Sleep(500 * time.Millisecond)
				if n := countLines(c.output(), "grandchild"); n != 0 {
					t.Errorf("default mode: the grandchild got SIGUSR1 %d times, want 0", n)
				}
			}
			c.kill("TERM")
			c.wait(5 * time.Second)
		})
	}
}

func TestContainerZombies(t *testing.T) {
	const script = `for i in 1 2 3 4 5; do (sleep 0.1 &); done; exec sleep 1000`
	bare := runContainer(t, nil, "sh", "-c", script)
	with := runContainer(t, []string{}, "sh", "-c", script)
	time.Sleep(time.Second)
	if n := bare.zombies(); n < 5 {
		t.Errorf("without pier-init: %d zombies, want the 5 orphans unreaped", n)
	}
	if n := with.zombies(); n != 0 {
		t.Errorf("with pier-init: %d zombies, want none", n)
	}
}

func TestContainerExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string // what pier-init says on stderr
	}{
		{[]string{"true"}, 0, ""},
		{[]string{"sh", "-c", "exit 42"}, 42, ""},
		{[]string{"/etc/passwd"}, 126, "pier-init: /etc/passwd: Permission denied\n"},
		{[]string{"no-such-command"}, 127, "pier-init: no-such-command: command not found\n"},
		{[]string{"sh", "-c", "kill -KILL $$"}, 137, ""},
		{[]string{"sh", "-c", "kill -TERM $$"}, 143, ""},
	} {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			c := startContainer(t, []string{}, tt.args...)
			if code := c.wait(5 * time.Second); code != tt.code {
				t.Errorf("%q: exit code %d, want %d (runtime stderr %q)", tt.args, code, tt.code, c.stderr.String())
			}
			if !strings.Contains(c.stderr.String(), tt.msg) {
				t.Errorf("%q: stderr %q, want it to say %q", tt.args, c.stderr.String(), tt.msg)
			}
		})
	}
}

func countLines(s, line string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			n++
		}
	}
	return n
}
