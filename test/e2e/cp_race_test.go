package e2e_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestCpFifoSwapRace is the docker cp upload race with a real container:
// a program in it (testdata/cpracer) swaps every FIFO that pier cp
// extracts into /d for a symlink to a host canary file, as soon as
// inotify reports the FIFO. pierd must never change the canary's mode
// (the FIFOs are uploaded 0777; the canary is 0600). The window it aims
// at (mknod to chmod by name) is microseconds: against the pierd before
// the fix the racer, a process in the container, swapped hundreds of
// FIFOs without once winning it; internal/archive's
// TestExtractNodeSwapRace, with the racer in pierd's own process, is the
// test that fails on the old code. This one checks the fix end to end.
func TestCpFifoSwapRace(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	racerDir := filepath.Join(d.dir, "racer")
	must(t, os.MkdirAll(racerDir, 0o755))
	build := exec.Command("go", "build", "-o", filepath.Join(racerDir, "cpracer"), "./testdata/cpracer")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cpracer: %v\n%s", err, out)
	}
	canary := filepath.Join(d.dir, "canary")
	must(t, os.WriteFile(canary, []byte("host file\n"), 0o600))
	must(t, os.Chmod(canary, 0o600))

	t.Cleanup(func() { run(t, pier, "-H", d.host, "rm", "-f", "cprace") })
	mustRun(t, pier, "-H", d.host, "run", "-d", "--name", "cprace", "--network", "none",
		"-v", racerDir+":/racer:ro", "busybox", "/racer/cpracer", "/d", canary)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, out, _ := run(t, pier, "-H", d.host, "cp", "cprace:/ready", "-"); code == 0 && strings.Contains(out, "ready") {
			break
		}
		if time.Now().After(deadline) {
			_, logs, _ := run(t, pier, "-H", d.host, "logs", "cprace")
			t.Fatalf("cpracer did not get ready; logs:\n%s", logs)
		}
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range 1000 {
		must(t, tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d/f%d", i), Typeflag: tar.TypeFifo, Mode: 0o777}))
	}
	must(t, tw.Close())
	for round := range 2 {
		cp := exec.Command(pier, "-H", d.host, "cp", "-", "cprace:/")
		cp.Env = cleanEnv()
		cp.Stdin = bytes.NewReader(buf.Bytes())
		out, err := cp.CombinedOutput() // a refusal of a replaced node is fine
		t.Logf("round %d: cp: %v %s", round, err, strings.TrimSpace(string(out)))
		fi, err := os.Stat(canary)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("round %d: the host canary's mode became %v through a swapped FIFO", round, fi.Mode().Perm())
		}
	}
	// The racer's work shows in /d: symlinks to the canary where FIFOs were.
	code, list, errs := run(t, pier, "-H", d.host, "cp", "cprace:/d", "-")
	if code != 0 {
		t.Fatalf("cp /d out = %d %s", code, errs)
	}
	links := 0
	tr := tar.NewReader(strings.NewReader(list))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if hdr.Typeflag == tar.TypeSymlink && hdr.Linkname == canary {
			links++
		}
	}
	if links == 0 {
		t.Fatal("the racer swapped nothing: the test proves nothing")
	}
	t.Logf("the racer swapped %d FIFOs for links to the canary; it stayed 0600", links)
}
