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
	cmd := exec.Command(r.bin, "--root", r.root, "run", "--bundle", b, r.id())
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
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := rd.ReadString(0)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(rest, "got TERM") {
		t.Errorf("after SIGTERM to the runtime: %v, output %q; want the program's trap and exit 3", err, rest)
	}
}

// A foreground exec forwards its signals to the exec'd program, and
// exits with the program's status.
func TestExecForwardsSignals(t *testing.T) {
	r := newRT(t)
	id, _ := r.runDetached(testutil.Bundle(t, []string{"sleep", "1000"}, nil))
	cmd := exec.Command(r.bin, "--root", r.root, "exec", id, "sh", "-c",
		`trap 'echo got USR1; exit 4' USR1; echo ready; while :; do sleep 0.1; done`)
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
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	rest, _ := rd.ReadString(0)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 || !strings.Contains(rest, "got USR1") {
		t.Errorf("after SIGUSR1 to the runtime: %v, output %q; want the program's trap and exit 4", err, rest)
	}
}
