package pid1

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// earlyRounds repeats the early-signal tests: what they guard against is a
// race, which one run may miss.
const earlyRounds = 10

// exitCode waits (at most 5 s) for cmd and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait pier-init: %v", err)
		}
		return 0
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("pier-init still running after 5s")
		return -1
	}
}

// A signal sent the moment the readiness pipe closes reaches the child: by
// then pier-init catches every signal. The child, sleep, has no handler and
// dies of it; had pier-init lost it, sleep would end normally (exit 0).
func TestSignalAtReadyForwarded(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGUSR1, 138}, {syscall.SIGTERM, 143}} {
		for range earlyRounds {
			r, cmd := readyRun(t, "--grace", "0", "--", "sleep", "2")
			eof(t, r)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd); code != tc.code {
				t.Fatalf("%v sent at readiness: exit code %d, want %d (the signal was lost)", tc.sig, code, tc.code)
			}
		}
	}
}

// A child that signals pier-init the moment it runs has that signal
// forwarded back to it, so pier-init must catch signals before the child
// exists. sh dies of the forwarded signal (it has no trap), and pier-init
// exits 128+N; a lost SIGUSR1 would let sh end normally after its sleep,
// and a SIGTERM meeting the Go runtime's default would make pier-init exit 2.
func TestSignalFromChildAtStartForwarded(t *testing.T) {
	for _, tc := range []struct {
		sig  string
		code int
	}{{"USR1", 138}, {"TERM", 143}} {
		for range earlyRounds {
			r, cmd := readyRun(t, "--grace", "0", "--", "sh", "-c", "kill -"+tc.sig+" $PPID; sleep 2")
			eof(t, r)
			if code := exitCode(t, cmd); code != tc.code {
				t.Fatalf("SIG%s from the child at start: exit code %d, want %d (the signal was lost)", tc.sig, code, tc.code)
			}
		}
	}
}
