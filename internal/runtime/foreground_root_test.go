package runtime_test

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// A foreground run forwards the signals it gets to the container's
// program (they are caught alongside the create, before the program runs).
func TestRunForwardsSignals(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, sh(`trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done`), nil)
	signalForeground(t, exec.Command(r.bin, "--root", r.root, "run", "--bundle", b, r.id()), syscall.SIGTERM, "got TERM", 3)
}

// A foreground exec forwards its signals to the exec'd program, and
// exits with the program's status.
func TestExecForwardsSignals(t *testing.T) {
	r := newRT(t)
	id, _ := r.runDetached(testutil.Bundle(t, []string{"sleep", "1000"}, nil))
	cmd := exec.Command(r.bin, "--root", r.root, "exec", id, "sh", "-c",
		`trap 'echo got USR1; exit 4' USR1; echo ready; while :; do sleep 0.1; done`)
	signalForeground(t, cmd, syscall.SIGUSR1, "got USR1", 4)
}

// signalForeground starts cmd, a foreground run or exec whose program
// prints "ready" and traps sig, sends sig to the runtime once the program
// is ready, and checks that the program's trap printed want and its exit
// code came back.
func signalForeground(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, want string, code int) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(out)
	if line, err := rd.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	rest, _ := rd.ReadString(0)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code || !strings.Contains(rest, want) {
		t.Errorf("after %v to the runtime: %v, output %q; want the program's trap and exit %d", sig, err, rest, code)
	}
}
