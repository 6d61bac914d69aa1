package runtime_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestRuntimeBinaryIsNotWritableFromTheContainer is the CVE-2019-5736
// attack: while a created container waits for start, its process is still
// pier-runtime's image, and a process in the container can keep an O_PATH
// handle on /proc/PID/exe. Once no pier-runtime runs any more (no ETXTBSY
// to stop it), it reopens the handle for writing. That must fail, because
// the runtime ran from a read-only mount of itself.
func TestRuntimeBinaryIsNotWritableFromTheContainer(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, []string{"true"}, nil)
	id := r.id()
	r.ok("create", "--bundle", b, id)
	pid := r.state(id).Pid
	handle, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", pid), unix.O_PATH, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	st, err := handle.Stat()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.Stat(r.bin)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(st, bin) {
		t.Fatalf("the container process runs something other than %s", r.bin)
	}
	r.ok("start", id)
	waitFor(t, "the container to stop", func() bool { return r.state(id).Status == "stopped" })
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", handle.Fd()), os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatal("the runtime binary can be opened for writing through the container's handle")
	}
	if !errors.Is(err, unix.EROFS) {
		t.Fatalf("reopen for writing: %v, want EROFS", err)
	}
}

// TestPreserveFds passes fd 3 and 4 into the container and nothing else.
func TestPreserveFds(t *testing.T) {
	r := newRT(t)
	dir := t.TempDir()
	b := testutil.Bundle(t, sh("echo three >&3; echo four >&4; ls /proc/self/fd | tr '\\n' ' '"), nil)
	f3, err := os.Create(filepath.Join(dir, "3"))
	if err != nil {
		t.Fatal(err)
	}
	f4, err := os.Create(filepath.Join(dir, "4"))
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	defer f4.Close()
	cmd := exec.Command(r.bin, "--root", r.root, "run", "--preserve-fds", "2", "--bundle", b, r.id())
	cmd.ExtraFiles = []*os.File{f3, f4}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run --preserve-fds 2: %v: %s", err, out)
	}
	for name, want := range map[string]string{"3": "three\n", "4": "four\n"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("fd %s got %q, want %q", name, b, want)
		}
	}
	// 0-2, the preserved 3 and 4, and ls's own directory fd.
	if fds := strings.Fields(string(out)); len(fds) != 6 {
		t.Errorf("the container has fds %v, want 0-4 and ls's own", fds)
	}
}
