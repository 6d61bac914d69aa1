// Package e2e_test drives the built binaries as a user would: pierd on a
// private root and socket, and pier and the real docker CLIs against it.
// The tests are root tests: `make test` runs them as root, with the
// binaries `make build` made.
package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
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

func TestMain(m *testing.M) { os.Exit(testutil.LeakCheckMain(m)) }

// bound scales a test's time bound by PIER_TEST_SLOW (default 1), which
// scripts/vmtest.sh sets because its VM emulates the CPU: the bounds are
// there to catch hangs, and stay tight on real hardware.
func bound(d time.Duration) time.Duration {
	if f, err := strconv.Atoi(os.Getenv("PIER_TEST_SLOW")); err == nil && f > 1 {
		return d * time.Duration(f)
	}
	return d
}

// pierd is a running daemon started by a test.
type pierd struct {
	cmd    *exec.Cmd
	dir    string // the test's short directory: socket, root, anything else
	sock   string
	root   string
	host   string
	stderr *testutil.SyncBuffer
	done   chan struct{} // closed when pierd has exited, err set
	err    error
}

// newPierd is the preamble of an end-to-end test: it needs root and the
// features named (testutil.Requires: "busybox", "overlay", ...), checks
// for leaks when it ends (after pierd has stopped), and gets its own pierd
// on a private root and socket in a short directory (pierd.dir).
func newPierd(t *testing.T, features ...string) *pierd {
	t.Helper()
	testutil.RequiresRoot(t)
	if len(features) > 0 {
		testutil.Requires(t, features...)
	}
	testutil.CheckLeaks(t)
	return startPierd(t, shortDir(t))
}

// startPierd starts pierd on a socket and root in dir, waits until it
// answers, and stops it with SIGTERM when the test ends, checking that it
// exits cleanly and removes its socket.
func startPierd(t *testing.T, dir string, extra ...string) *pierd {
	t.Helper()
	d := &pierd{dir: dir, sock: filepath.Join(dir, "pier.sock"), root: filepath.Join(dir, "root"), stderr: &testutil.SyncBuffer{}}
	d.host = "unix://" + d.sock
	args := append([]string{"--root", d.root, "--exec-root", testutil.ExecRoot(t, dir), "--host", d.host,
		"--runtime", testutil.Binary(t, "pier-runtime")}, extra...)
	d.cmd = exec.Command(testutil.Binary(t, "pierd"), args...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.stop(t) })
	// A bound, not a wait: pierd answers in ~0.1 s here, but the cgroup-v2
	// VM (make test-vm) emulates without KVM and took more than 5 s.
	deadline := time.Now().Add(bound(30 * time.Second))
	for {
		if resp, err := d.get("/_ping"); err == nil {
			resp.Body.Close()
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("pierd exited at start: %v; log:\n%s", d.err, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pierd did not answer on %s within %v; log:\n%s", d.sock, bound(30*time.Second), d.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *pierd) stop(t *testing.T) {
	select {
	case <-d.done:
		return // it never started; startPierd said why
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM pierd %d: %v", d.cmd.Process.Pid, err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			t.Errorf("pierd exited with %v; log:\n%s", d.err, d.stderr)
		}
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("pierd ignored SIGTERM for 10s; log:\n%s", d.stderr)
	}
	if _, err := os.Lstat(d.sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pierd left its socket %s behind: %v", d.sock, err)
	}
}

// get sends an HTTP GET straight to the socket.
func (d *pierd) get(path string) (*http.Response, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
		},
	}}
	return c.Get("http://pierd" + path)
}

// run runs a command with a clean docker environment and returns its
// exit code and output.
func run(t *testing.T, name string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+t.TempDir())
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return code, out.String(), errb.String()
}

// cleanEnv is the test's environment without variables that would point
// a client at another daemon.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "PIER_HOST", "DOCKER_CONTEXT", "DOCKER_API_VERSION", "DOCKER_CONFIG",
			"DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// shortDir is a temp dir whose socket path fits sun_path's 108 bytes even
// under long test names.
func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "pier-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
