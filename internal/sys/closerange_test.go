package sys

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func cloexec(t *testing.T, fd uintptr) bool {
	t.Helper()
	v, err := unix.FcntlInt(fd, unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v&unix.FD_CLOEXEC != 0
}

func testCloseExec(t *testing.T, mark func(int) error) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	low, high := r.Fd(), w.Fd()
	if low > high {
		low, high = high, low
	}
	for _, fd := range []uintptr{low, high} {
		if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := mark(int(high)); err != nil {
		t.Fatal(err)
	}
	if cloexec(t, low) {
		t.Errorf("fd %d below the limit was marked close-on-exec", low)
	}
	if !cloexec(t, high) {
		t.Errorf("fd %d was not marked close-on-exec", high)
	}
	if cloexec(t, 0) || cloexec(t, 2) {
		t.Errorf("stdio marked close-on-exec")
	}
}

func TestCloseExecFrom(t *testing.T) { testCloseExec(t, CloseExecFrom) }

func TestCloseExecByScan(t *testing.T) { testCloseExec(t, cloexecByScan) }

func TestPidfd(t *testing.T) {
	f, err := PidfdOpen(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := PidfdSignal(f, 0); err != nil {
		t.Errorf("signal 0 to self: %v", err)
	}
}
