package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestStartReadyEvent: a start returns once pier-init has taken SIGTERM
// over and its child has exec'd (pier-init closes a readiness pipe then),
// on pier-runtime in-process and on runc's command line (--preserve-fds).
// So a stop sent at once reaches the command (exit 143, no SIGKILL
// timeout), and a command that cannot be started, or an init that ends
// early, still ends the wait at once rather than after its 3 s bound.
func TestStartReadyEvent(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	p := func(args ...string) (int, string, string) {
		return run(t, pier, append([]string{"-H", d.host}, args...)...)
	}
	for _, rt := range []string{"", "runc"} {
		name := rt
		if name == "" {
			name = "pier-runtime"
		}
		t.Run(name, func(t *testing.T) {
			if rt == "runc" {
				testutil.Requires(t, "runc")
			}
			var rtArgs []string
			if rt != "" {
				rtArgs = []string{"--runtime", rt}
			}
			for i := 0; i < 3; i++ {
				start := time.Now()
				code, out, errs := p(append(append([]string{"run", "-d"}, rtArgs...), "busybox", "sleep", "1000")...)
				id := strings.TrimSpace(out)
				if code != 0 || id == "" {
					t.Fatalf("run -d = %d %q %q", code, out, errs)
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("run -d took %v: the readiness wait ran into its bound", took)
				}
				start = time.Now()
				if code, _, errs := p("stop", "-t", "20", id); code != 0 {
					t.Errorf("stop = %d %q", code, errs)
				}
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("stop right after start took %v: SIGTERM was lost", took)
				}
				if code, out, _ := p("inspect", "-f", "{{.State.ExitCode}}", id); code != 0 || out != "143\n" {
					t.Errorf("exit after stop = %d %q, want 143 (sleep killed by SIGTERM)", code, out)
				}
				p("rm", "-f", id)
			}
			for _, c := range []struct {
				args []string
				code int
			}{
				{[]string{"busybox", "/nonexistent"}, 127},       // pier-init cannot start it
				{[]string{"busybox", "/etc/passwd"}, 126},        // nor run it
				{[]string{"busybox", "sh", "-c", "exit 7"}, 7},   // ends at once
				{[]string{"--init=false", "busybox", "true"}, 0}, // no pier-init, no pipe
			} {
				start := time.Now()
				code, out, errs := p(append(append([]string{"run", "--rm"}, rtArgs...), c.args...)...)
				if code != c.code {
					t.Errorf("run --rm %v = %d %q %q, want %d", c.args, code, out, errs, c.code)
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("run --rm %v took %v", c.args, took)
				}
			}
		})
	}
	noContainersLeft(t, d)
}
