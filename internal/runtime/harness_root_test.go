package runtime_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

// rt drives the pier-runtime binary with a private state root, as
// containerd or a user would.
type rt struct {
	t    *testing.T
	bin  string
	root string
}

var seq atomic.Int32

func newRT(t *testing.T) *rt {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox")
	testutil.CheckLeaks(t)
	r := &rt{t: t, bin: testutil.Binary(t, "pier-runtime"), root: t.TempDir()}
	return r
}

// id returns a container id unique to this test process.
func (r *rt) id() string {
	id := fmt.Sprintf("rt%d-%d", os.Getpid(), seq.Add(1))
	r.t.Cleanup(func() { _, _, _ = r.run("delete", "-f", id) })
	return id
}

// run runs pier-runtime and returns stdout, stderr and the exit status.
func (r *rt) run(args ...string) (string, string, int) {
	return r.runIn(nil, args...)
}

func (r *rt) runIn(stdin []byte, args ...string) (string, string, int) {
	cmd := exec.Command(r.bin, append([]string{"--root", r.root}, args...)...)
	// Files, not pipes: a detached container inherits the runtime's stdio,
	// and a pipe it holds open would keep cmd.Wait waiting for EOF.
	out, errb := r.tempFile(), r.tempFile()
	defer out.Close()
	defer errb.Close()
	cmd.Stdout, cmd.Stderr = out, errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("pier-runtime %v: %v", args, err)
	}
	return readAll(r.t, out), readAll(r.t, errb), code
}

func (r *rt) tempFile() *os.File {
	f, err := os.CreateTemp(r.t.TempDir(), "out")
	if err != nil {
		r.t.Fatal(err)
	}
	return f
}

func readAll(t *testing.T, f *os.File) string {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ok runs pier-runtime and fails the test unless it exits 0.
func (r *rt) ok(args ...string) string {
	r.t.Helper()
	out, errOut, code := r.run(args...)
	if code != 0 {
		r.t.Fatalf("pier-runtime %v: exit %d: %s%s", args, code, out, errOut)
	}
	return out
}

func (r *rt) state(id string) specs.State {
	r.t.Helper()
	var s specs.State
	if err := json.Unmarshal([]byte(r.ok("state", id)), &s); err != nil {
		r.t.Fatalf("state %s: %v", id, err)
	}
	return s
}

// runDetached starts a long-running container and returns its id and pid.
func (r *rt) runDetached(bundle string) (string, int) {
	r.t.Helper()
	id := r.id()
	r.ok("run", "-d", "--bundle", bundle, id)
	s := r.state(id)
	if s.Status != "running" {
		r.t.Fatalf("state after run -d: %s", s.Status)
	}
	return id, s.Pid
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

// hostNS returns the namespace link targets of a host process.
func hostNS(t *testing.T, pid int, kinds ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range kinds {
		l, err := os.Readlink(filepath.Join("/proc", fmt.Sprint(pid), "ns", k))
		if err != nil {
			t.Fatal(err)
		}
		out[k] = l
	}
	return out
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
