package pid1

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// readyRun starts pier-init on args with the write end of a pipe as its
// fd 3 and returns the read end and the command.
func readyRun(t *testing.T, args ...string) (*os.File, *exec.Cmd) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testutil.Binary(t, "pier-init"), args...)
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); r.Close() })
	return r, cmd
}

// eof waits (at most 5 s) for the pipe's end and returns how long it took.
func eof(t *testing.T, r *os.File) time.Duration {
	t.Helper()
	start := time.Now()
	if err := r.SetReadDeadline(start.Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("readiness pipe: %v (pier-init kept it open)", err)
	}
	return time.Since(start)
}

// TestReadyPipeClosedAtExec: pier-init closes fd 3, a pipe's write end,
// once its child has exec'd, while the child still runs, and the child
// never holds it (else the reader would wait for the child's end).
func TestReadyPipeClosedAtExec(t *testing.T) {
	r, cmd := readyRun(t, "--grace", "0", "--", "sleep", "30")
	eof(t, r)
	// The child is sleep; its fd 3 must not be the pipe.
	kids, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children")
	if len(kids) == 0 {
		t.Fatal("pier-init has no child after signalling ready")
	}
	kid := string(kids[:len(kids)-1])
	if exe, _ := os.Readlink("/proc/" + kid + "/exe"); exe == "" || exe == testutil.Binary(t, "pier-init") {
		t.Errorf("child %s runs %q: not exec'd yet when ready was signalled", kid, exe)
	}
	// The child may have an fd 3 of its own (sleep opens locale files as
	// it starts): only the pipe would be wrong.
	if got, err := os.Readlink("/proc/" + kid + "/fd/3"); err == nil && got == pipeName(t, r) {
		t.Errorf("the child holds the readiness pipe as fd 3")
	}
}

// pipeName is how /proc names the pipe f is an end of: "pipe:[INODE]".
func pipeName(t *testing.T, f *os.File) string {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return "pipe:[" + strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10) + "]"
}

// TestReadyPipeOnFailedStart: a command that cannot be started still ends
// the wait (pier-init exits 127 and its fd closes).
func TestReadyPipeOnFailedStart(t *testing.T) {
	r, cmd := readyRun(t, "--", "/nonexistent/command")
	if d := eof(t, r); d > 3*time.Second {
		t.Errorf("EOF after %v", d)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 127 {
		t.Errorf("exit %v, want 127", err)
	}
}

// TestReadyPipeNotAPipe: an fd 3 that is not a pipe's write end is left
// alone (pier-init run by another engine): the child inherits it.
func TestReadyPipeNotAPipe(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "fd3")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(testutil.Binary(t, "pier-init"), "--", "sh", "-c", "readlink /proc/self/fd/3")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != f.Name()+"\n" {
		t.Errorf("child's fd 3 is %q, want %q", got, f.Name())
	}
}
