package pid1

import (
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigsetSize is the size of the kernel's sigset_t (64 signals), which
// rt_sigtimedwait insists on; unix.Sigset_t is libc's larger one.
const kernelSigsetSize = 8

// waiter receives pier-init's signals on one thread, the one Run locked,
// by blocking them there and waiting in rt_sigtimedwait, as tini does with
// a signalfd: a signal wakes that thread and nothing else.
//
// The Go runtime makes this only the fast path. It unblocks SIGTERM, SIGINT,
// SIGHUP, SIGQUIT, SIGCHLD and a few more on every thread it starts, so the
// kernel may hand a signal to another thread whenever the waiting one is
// not inside rt_sigtimedwait (while it forwards or reaps). There it meets
// the runtime's handler, which passes it to os/signal; reroute sends it on
// to the waiting thread with tgkill, where it stays pending until the next
// wait. Inside rt_sigtimedwait the waited signals count as unblocked, and
// the kernel offers a process-directed signal to the thread-group leader
// first, so with Run on the main thread the slow path is rare.
type waiter struct {
	tid int
	// set holds the signals waited for: every caught one but the faults.
	set unix.Sigset_t
}

// catch registers every caught signal with os/signal and returns the
// channel they arrive on.
//
// os/signal enables signals one at a time, and each is a round trip to the
// runtime's signal-mask thread (a goroutine locked to its own thread), 59
// of them here: most of pier-init's start-up. Made from the main goroutine,
// which is locked to the main thread, each round trip costs four thread
// switches, since neither locked thread can run the other's goroutine and
// the processor goes through an idle thread both ways; made from an
// unlocked goroutine it costs two. Hence the goroutine, while the main one
// waits (bench: 0.75 ms instead of 1.3 ms on a loaded host).
//
// Catching cannot instead be left until the child runs, whatever the main
// thread blocks meanwhile: the runtime's other threads (sysmon, the template
// thread, idle ones) keep SIGTERM, SIGINT, SIGHUP, SIGCHLD and the rest
// unblocked, and a signal os/signal does not want yet is dropped there, or
// for SIGTERM, SIGINT and SIGHUP ends pier-init (killed by it, or as PID 1,
// which ignores its own default-action signals, with status 2). A child
// that signals pier-init as it starts would lose that signal.
func catch() <-chan os.Signal {
	sigs := make(chan os.Signal, signalBuffer)
	done := make(chan struct{})
	go func() {
		signal.Notify(sigs, caught()...)
		close(done)
	}()
	<-done
	return sigs
}

// isFault reports the signals the kernel raises for a fault of the thread
// itself. They stay unblocked on the waiting thread: a fault there while
// blocked would kill pier-init with no Go traceback. Sent with kill, they
// come through os/signal and reroute forwards them itself.
func isFault(s syscall.Signal) bool {
	switch s {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP:
		return true
	}
	return false
}

// listen blocks the caught signals on the calling thread, which must be
// locked to its goroutine, and returns the waiter for it. Call it after the
// child is started: the runtime's fork restores the thread's signal mask.
func listen() (*waiter, error) {
	w := &waiter{tid: unix.Gettid()}
	for _, s := range caught() {
		if sig := s.(syscall.Signal); !isFault(sig) {
			n := uint(sig) - 1
			w.set.Val[n/64] |= 1 << (n % 64)
		}
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &w.set, nil); err != nil {
		return nil, &os.SyscallError{Syscall: "rt_sigprocmask", Err: err}
	}
	return w, nil
}

// wait returns the next signal, or 0 once deadline has passed; a zero
// deadline waits for ever. The syscall is announced to the runtime, so
// while pier-init is idle its P is released and no Go code runs.
func (w *waiter) wait(deadline time.Time) syscall.Signal {
	for {
		var ts *unix.Timespec
		if !deadline.IsZero() {
			t := unix.NsecToTimespec(max(int64(time.Until(deadline)), 0))
			ts = &t
		}
		r, _, errno := syscall.Syscall6(unix.SYS_RT_SIGTIMEDWAIT,
			uintptr(unsafe.Pointer(&w.set)), 0, uintptr(unsafe.Pointer(ts)), kernelSigsetSize, 0, 0)
		switch errno {
		case 0:
			return syscall.Signal(r)
		case unix.EAGAIN:
			return 0
		}
		// EINTR: the runtime's own SIGURG, which is never blocked.
	}
}

// reroute takes the signals that reached another thread through os/signal:
// the waited ones go on to the waiting thread, the faults straight to the
// child. It runs until pier-init exits.
func (w *waiter) reroute(sigs <-chan os.Signal, forward func(syscall.Signal)) {
	pid := unix.Getpid()
	for s := range sigs {
		sig := s.(syscall.Signal)
		if isFault(sig) {
			forward(sig)
			continue
		}
		_ = unix.Tgkill(pid, w.tid, sig)
	}
}
