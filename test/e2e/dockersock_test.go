package e2e_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestDockerSocket: --docker-socket serves the API at Docker's socket as
// well (here a path of the test's, --docker-socket-path, so that the
// host's /var/run/docker.sock is never touched): the docker CLI works
// there with the socket's mode, and pierd removes the socket when it stops.
// A socket pierd did not make at that path, live or stale, is refused at
// start and left as it was.
func TestDockerSocket(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox")
	testutil.CheckLeaks(t)
	dir := shortDir(t)
	dsock := filepath.Join(dir, "docker.sock")
	d := startPierd(t, dir, "--docker-socket", "--docker-socket-path", dsock)
	fi, err := os.Lstat(dsock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("docker socket %s: %v, %v", dsock, fi, err)
	}
	if code, out, errs := run(t, dockers[0], "-H", "unix://"+dsock, "run", "--rm", "busybox", "echo", "via-docker-sock"); code != 0 || strings.TrimSpace(out) != "via-docker-sock" {
		t.Errorf("docker run through %s = %d %q %q", dsock, code, out, errs)
	}
	d.stop(t)
	if _, err := os.Lstat(dsock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pierd left %s behind: %v", dsock, err)
	}

	// Another program's socket: live, then stale (its daemon gone without
	// removing it, as a killed dockerd leaves it).
	other, err := net.Listen("unix", dsock)
	if err != nil {
		t.Fatal(err)
	}
	other.(*net.UnixListener).SetUnlinkOnClose(false)
	defer os.Remove(dsock)
	refused := func(what string) {
		t.Helper()
		root := filepath.Join(dir, "root2")
		cmd := exec.Command(testutil.Binary(t, "pierd"), "--root", root, "--host", "unix://"+filepath.Join(dir, "p2.sock"),
			"--docker-socket", "--docker-socket-path", dsock)
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%s: pierd still running after 10 s", what)
		}
		if err == nil || !strings.Contains(string(out), "pier did not make it") {
			t.Errorf("%s: pierd = %v\n%s\nwant a refusal naming the foreign socket", what, err, out)
		}
		if fi, err := os.Lstat(dsock); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("%s: the foreign socket is gone: %v", what, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "p2.sock")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the refused pierd left its own socket: %v", what, err)
		}
	}
	refused("a live foreign socket")
	other.Close()
	refused("a stale foreign socket")
}
