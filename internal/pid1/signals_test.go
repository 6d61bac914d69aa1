package pid1

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func inSet(set *unix.Sigset_t, s syscall.Signal) bool {
	n := uint(s) - 1
	return set.Val[n/64]&(1<<(n%64)) != 0
}

// The waiter takes a signal pending for its thread, times out when none
// comes, and leaves the fault signals to the runtime.
func TestWaiter(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &old); err != nil {
		t.Fatal(err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)

	w, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []syscall.Signal{unix.SIGTERM, unix.SIGCHLD, unix.SIGUSR1, syscall.Signal(64)} {
		if !inSet(&w.set, s) {
			t.Errorf("%v not waited for", s)
		}
	}
	for _, s := range []syscall.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGURG, unix.SIGKILL, unix.SIGSTOP} {
		if inSet(&w.set, s) {
			t.Errorf("%v waited for", s)
		}
	}

	// Directed at this thread, where it is blocked: only wait can take it.
	if err := unix.Tgkill(unix.Getpid(), w.tid, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if got := w.wait(time.Now().Add(5 * time.Second)); got != unix.SIGUSR2 {
		t.Errorf("wait = %v, want SIGUSR2", got)
	}
	start := time.Now()
	if got := w.wait(start.Add(50 * time.Millisecond)); got != 0 {
		t.Errorf("wait = %v, want a timeout", got)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("wait timed out after %v, before its 50ms deadline", d)
	}
}
