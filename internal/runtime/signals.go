package runtime

import (
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// SignalForwarder passes the signals a foreground run or exec gets on to
// its process without os/signal, whose Notify of every signal costs a
// round trip with the Go runtime's signal thread per signal (~60, 1-2 ms
// of CPU and ~200 context switches per command). internal/sigfwd's C
// handler is the one pier-runtime uses.
type SignalForwarder interface {
	// Catch makes the runtime keep every forwardable signal, instead of
	// acting on it, until Forward.
	Catch() error
	// Forward sends the kept signals, and every later one, to the process
	// pidfd refers to.
	Forward(pidfd int)
	// Stop gives the signals back to the Go runtime.
	Stop()
}

// forwarder is the signal plumbing of one foreground run or exec: a
// SignalForwarder, or os/signal and a channel. The zero one forwards
// nothing (a detached run).
type forwarder struct {
	c     SignalForwarder
	pidfd int

	sigs            chan os.Signal
	ready, released func()
}

// catchSignals starts keeping the signals for the process to come; a
// terminal takes os/signal, whose channel also carries SIGWINCH.
func (r *Runtime) catchSignals(terminal bool) *forwarder {
	if r.Signals != nil && !terminal {
		if err := r.Signals.Catch(); err == nil {
			return &forwarder{c: r.Signals, pidfd: -1}
		}
	}
	f := &forwarder{pidfd: -1, sigs: make(chan os.Signal, 128)}
	f.ready, f.released = forwardSignals(f.sigs)
	return f
}

// caught waits until no signal can be lost (os/signal's Notify runs
// alongside the create).
func (f *forwarder) caught() {
	if f.ready != nil {
		f.ready()
	}
}

// forward sends the signals to pid from now on, those kept first. With
// os/signal that is wait's work.
func (f *forwarder) forward(pid int) error {
	if f.c == nil {
		return nil
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	f.pidfd = fd
	f.c.Forward(fd)
	return nil
}

// wait reaps pid, forwarding signals meanwhile, and returns its status.
func (f *forwarder) wait(pid int, con *ConsoleProxy) int {
	if f.c == nil {
		return WaitForwarding(pid, f.sigs, con)
	}
	code, err := Wait(pid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pier-runtime: %v\n", err)
	}
	return code
}

func (f *forwarder) stop() {
	if f.c != nil {
		f.c.Stop()
		if f.pidfd >= 0 {
			unix.Close(f.pidfd)
		}
	}
	if f.released != nil {
		f.released()
	}
}

// forwardSignals has every signal delivered to sigs, for forwarding to the
// container's process. signal.Notify of all signals costs a round trip
// with the Go runtime's signal thread per signal (about 65: 1-2 ms on a
// loaded 2-core machine, the largest cost of a foreground run after the
// Go start), and signal.Stop as much again; so Notify runs alongside the
// create (caught waits for it, before the program can run) and release
// lets go of the signals in the background, as the CLI exits right after.
func forwardSignals(sigs chan os.Signal) (caught, release func()) {
	done := make(chan struct{})
	go func() {
		signal.Notify(sigs)
		close(done)
	}()
	caught = func() { <-done }
	release = func() {
		go func() {
			<-done
			signal.Stop(sigs)
		}()
	}
	return caught, release
}
