package pid1

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CodeInternal is the exit code when pier-init itself cannot do its job.
const CodeInternal = 1

// signalBuffer is deep enough that the loop never lets the runtime drop a
// notification: each signal number has at most one pending in the runtime,
// so fewer than 64 can arrive between two reads of the channel.
const signalBuffer = 256

// killWait bounds the wait for processes after SIGKILL: one stuck in an
// uninterruptible sleep must not keep the container from exiting.
const killWait = time.Second

// Run starts c.Args as pier-init's child and supervises it until it exits;
// it returns the code pier-init must exit with. Run takes over the process:
// it catches signals, makes the process a child subreaper when it is not
// PID 1, and tunes the Go runtime for a small, idle footprint. The error,
// when not nil, explains the code (a *StartError for 126 and 127).
//
// Call it first thing in main: a signal that arrives before Run has caught
// it meets the Go runtime's default, which for SIGTERM, SIGINT and SIGHUP
// is to exit with status 2. The window is the runtime's start-up, well
// under a millisecond; once the child runs, every signal is caught.
func Run(c Config) (int, error) {
	// Catch signals before the child exists so none sent in between is
	// lost, nor any SIGCHLD.
	sigs := make(chan os.Signal, signalBuffer)
	signal.Notify(sigs, caught()...)
	tune()
	if len(c.Args) == 0 {
		return CodeInternal, errors.New("no command given")
	}
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return CodeInternal, &os.SyscallError{Syscall: "prctl PR_SET_CHILD_SUBREAPER", Err: err}
		}
	}
	pid, err := start(c.Args)
	if err != nil {
		var se *StartError
		if errors.As(err, &se) {
			return se.Code, err
		}
		return CodeInternal, err
	}
	s := &supervisor{child: pid, group: c.Group}
	ws := s.supervise(sigs)
	s.stopRest(sigs, c.Grace)
	return ExitCode(ws), nil
}

// tune trims the runtime: one P, since pier-init never runs two things at
// once, means fewer per-P caches and no second thread running Go code.
func tune() {
	runtime.GOMAXPROCS(1)
}

// caught lists the signals pier-init handles: every catchable one but
// SIGURG (see the package doc) and 32/33, which C libraries reserve for
// their threads.
func caught() []os.Signal {
	var out []os.Signal
	for n := 1; n <= 64; n++ {
		s := syscall.Signal(n)
		if s == unix.SIGKILL || s == unix.SIGSTOP || s == unix.SIGURG || n == 32 || n == 33 {
			continue
		}
		out = append(out, s)
	}
	return out
}

// start runs args as the child, with the terminal set-up stdin calls for,
// and returns its pid.
func start(args []string) (int, error) {
	path, err := lookPath(args[0], os.Getenv("PATH"))
	if err != nil {
		return 0, err
	}
	mode := detectTTY()
	pid, err := forkExec(path, args, mode)
	if err != nil && mode == newSession && errors.Is(err, syscall.EPERM) {
		// The terminal is another session's: run without one of our own
		// rather than not at all.
		pid, err = forkExec(path, args, noTTY)
	}
	if err != nil {
		return 0, startError(args[0], err)
	}
	return pid, nil
}

func forkExec(path string, args []string, mode ttyMode) (int, error) {
	return syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   procAttr(mode),
	})
}

// supervisor is the state of the one loop that owns signals and children.
type supervisor struct {
	child int
	group bool
	done  bool
	ws    unix.WaitStatus
}

// supervise forwards signals and reaps children until the child has exited,
// and returns its wait status.
func (s *supervisor) supervise(sigs <-chan os.Signal) unix.WaitStatus {
	for !s.done {
		sig := (<-sigs).(syscall.Signal)
		if sig == unix.SIGCHLD {
			s.reap()
			continue
		}
		s.forward(sig)
	}
	return s.ws
}

// forward passes sig on to the child, or to its process group.
func (s *supervisor) forward(sig syscall.Signal) {
	if s.group {
		if err := unix.Kill(-s.child, sig); err == nil {
			return
		}
		// The child left the group we made for it (a job-control shell
		// does): it alone can still be reached.
	}
	// ESRCH means the child is gone and its SIGCHLD is on its way.
	_ = unix.Kill(s.child, sig)
}

// reap collects every child that has exited, recording the main child's
// status, and reports whether any children remain.
func (s *supervisor) reap() bool {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil: // ECHILD: none left
			return false
		case pid == 0: // children remain, none exited
			return true
		case pid == s.child:
			s.ws, s.done = ws, true
		}
	}
}

// stopRest ends the processes the child left behind: SIGTERM, then SIGKILL
// after grace, returning once none is left or killWait after SIGKILL.
func (s *supervisor) stopRest(sigs <-chan os.Signal, grace time.Duration) {
	if !s.reap() {
		return
	}
	if grace > 0 {
		signalRest(unix.SIGTERM)
		signalRest(unix.SIGCONT)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	killed := false
	for {
		select {
		case sig := <-sigs:
			// Nobody is left to forward to; SIGCHLD is what matters.
			if sig != unix.SIGCHLD {
				continue
			}
			if !s.reap() {
				return
			}
			if killed {
				// Whatever was forked since the last SIGKILL.
				signalRest(unix.SIGKILL)
			}
		case <-timer.C:
			if killed {
				return
			}
			signalRest(unix.SIGKILL)
			killed = true
			timer.Reset(killWait)
		}
	}
}
