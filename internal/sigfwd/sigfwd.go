//go:build linux

// Package sigfwd passes the signals a foreground `pier-runtime run` or
// `exec` receives on to the container's process from a C signal handler,
// instead of through os/signal.
//
// signal.Notify of every signal costs a round trip with the Go runtime's
// signal-mask thread (a goroutine locked to its own thread) per signal:
// about 60 of them, ~200 context switches and 1-2 ms of CPU per
// command, as much as the rest of an exec's own work, and signal.Stop as
// much again. Here one sigaction per signal installs a handler that sends
// the signal on with pidfd_send_signal, an async-signal-safe system call,
// so nothing in Go runs per signal and a recycled pid is never hit.
// Signals caught before the process is known are kept (one of each) and
// sent when it is.
//
// Left to Go: the signals Go's runtime needs (SIGURG for preemption,
// SIGPROF, SIGPIPE, SIGCHLD), the synchronous ones (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGTRAP, SIGSYS), glibc's two (32 and 33), and SIGKILL
// and SIGSTOP, which nobody catches. Only cmd/pier-runtime links it (cgo).
package sigfwd

// #cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
// #include "sigfwd.h"
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Forwarder is the C handler, for internal/runtime's SignalForwarder.
type Forwarder struct{}

// Signals are the signals Catch takes over: every catchable one but those
// the Go runtime, glibc or the kernel keep (see the package comment).
func Signals() []int {
	var sigs []int
	for s := 1; s <= 64; s++ {
		switch syscall.Signal(s) {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGURG, syscall.SIGPROF, syscall.SIGPIPE, syscall.SIGCHLD,
			syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS, 32, 33:
			continue
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// Catch installs the handler: from now on those signals are kept for the
// process instead of acted on.
func (Forwarder) Catch() error {
	sigs := Signals()
	cs := make([]C.int, len(sigs))
	for i, s := range sigs {
		cs[i] = C.int(s)
	}
	if rc := C.pier_sigfwd_catch((*C.int)(unsafe.Pointer(&cs[0])), C.int(len(cs))); rc < 0 {
		C.pier_sigfwd_stop()
		return fmt.Errorf("catch signals: %w", syscall.Errno(-rc))
	}
	return nil
}

// Forward sends the kept signals, and every later one, to the process
// pidfd refers to. The caller keeps pidfd open until Stop.
func (Forwarder) Forward(pidfd int) { C.pier_sigfwd_forward(C.int(pidfd)) }

// Stop puts back the handlers Catch replaced (the Go runtime's).
func (Forwarder) Stop() { C.pier_sigfwd_stop() }
