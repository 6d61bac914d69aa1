package pid1

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

// RuntimeEnv names the OCI runtime the root tests drive, by name in $PATH or
// by path; pier-runtime, built from this tree, when unset. The tests speak
// only runc's command line, so runc, crun and pier-runtime all fit.
const RuntimeEnv = "PIER_TEST_OCI_RUNTIME"

func ociRuntime(t *testing.T) string {
	t.Helper()
	name := os.Getenv(RuntimeEnv)
	if name == "" {
		return testutil.Binary(t, "pier-runtime")
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s=%s: %v", RuntimeEnv, name, err)
	}
	return p
}

// container is one busybox container run in the foreground by the runtime,
// whose exit status is then the container's.
type container struct {
	t        *testing.T
	rt, root string // runtime binary and its private --root
	id       string
	out      string // the container's stdout
	stderr   bytes.Buffer
	cmd      *exec.Cmd
	done     chan struct{}
	err      error
}

// runContainer starts args in a busybox container and waits until it runs;
// with initArgs not nil, pier-init is bind-mounted at /sbin/pier-init and
// runs them with initArgs as its options.
func runContainer(t *testing.T, initArgs []string, args ...string) *container {
	t.Helper()
	c := startContainer(t, initArgs, args...)
	waitFor(t, 10*time.Second, func() bool {
		select {
		case <-c.done:
			t.Fatalf("container exited at once: %v; stderr %q", c.err, c.stderr.String())
		default:
		}
		return c.state().Status == "running"
	}, func() string { return "container never running; stderr " + strconv.Quote(c.stderr.String()) })
	if initArgs != nil {
		// pier-init catches signals before it starts its child; until
		// then a SIGTERM meets the Go runtime's default (see Run).
		waitFor(t, 5*time.Second, func() bool { return len(children(c.state().Pid)) > 0 },
			func() string { return "pier-init never started its child" })
	}
	return c
}

// startContainer is runContainer for a container that may exit at once.
func startContainer(t *testing.T, initArgs []string, args ...string) *container {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox")
	c := &container{t: t, rt: ociRuntime(t), root: t.TempDir(), done: make(chan struct{})}
	c.id = "pier-pid1-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if initArgs != nil {
		args = append(append(append([]string{"/sbin/pier-init"}, initArgs...), "--"), args...)
	}
	initBin := testutil.Binary(t, "pier-init")
	bundle := testutil.Bundle(t, args, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "/pier/" + c.id
		if initArgs != nil {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sbin/pier-init", Type: "bind",
				Source: initBin, Options: []string{"bind", "ro"}})
		}
	})
	c.out = filepath.Join(t.TempDir(), "stdout")
	f, err := os.Create(c.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c.cmd = exec.Command(c.rt, "--root", c.root, "run", "--bundle", bundle, c.id)
	c.cmd.Stdout, c.cmd.Stderr = f, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("%s run: %v", c.rt, err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = exec.Command(c.rt, "--root", c.root, "delete", "-f", c.id).Run()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// runtimeState is the part of `state`'s JSON the tests read.
type runtimeState struct {
	Status string `json:"status"`
	Pid    int    `json:"pid"`
}

func (c *container) state() runtimeState {
	var s runtimeState
	b, err := exec.Command(c.rt, "--root", c.root, "state", c.id).Output()
	if err == nil {
		_ = json.Unmarshal(b, &s)
	}
	return s
}

func (c *container) kill(sig string) {
	c.t.Helper()
	if b, err := exec.Command(c.rt, "--root", c.root, "kill", c.id, sig).CombinedOutput(); err != nil {
		c.t.Fatalf("%s kill %s: %v: %s", c.rt, sig, err, b)
	}
}

// exited reports whether the container ended within timeout, and its code.
func (c *container) exited(timeout time.Duration) (int, bool) {
	select {
	case <-c.done:
	case <-time.After(timeout):
		return 0, false
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		return ee.ExitCode(), true
	}
	return 0, c.err == nil
}

func (c *container) wait(timeout time.Duration) int {
	c.t.Helper()
	code, ok := c.exited(timeout)
	if !ok {
		c.t.Fatalf("container still running after %v; stdout %q", timeout, c.output())
	}
	return code
}

func (c *container) output() string {
	b, _ := os.ReadFile(c.out)
	return string(b)
}

func (c *container) waitOutput(s string, timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, func() bool { return strings.Contains(c.output(), s) },
		func() string { return "stdout " + strconv.Quote(c.output()) + " lacks " + strconv.Quote(s) })
}

// zombies counts the zombie children of the container's PID 1, read from
// the host's /proc: orphans in the container are re-parented to it.
func (c *container) zombies() int {
	return zombies(children(c.state().Pid))
}
