package pid1

import (
	"errors"
	"os"
	"runtime"
	"runtime/debug"
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
// Call it from the main goroutine, locked to the main thread by an init
// function (runtime.LockOSThread): Run waits for signals on the thread it
// is called on, and the kernel offers a process's signals to its main
// thread first (see waiter). Call it first thing: a signal that arrives
// before Run has caught it meets the Go runtime's default, which for
// SIGTERM, SIGINT and SIGHUP is to exit with status 2. The window is the
// runtime's start-up, well under a millisecond; once the child runs, every
// signal is caught.
func Run(c Config) (int, error) {
	runtime.LockOSThread()
	// Catch signals before the child exists so none sent in between is
	// lost, nor any SIGCHLD: until listen blocks them they come through
	// os/signal, and reroute passes them on. (Starting the child first and
	// catching while it runs is not safe: see catch.)
	sigs := catch()
	tune()
	if len(c.Args) == 0 {
		return CodeInternal, errors.New("no command given")
	}
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return CodeInternal, &os.SyscallError{Syscall: "prctl PR_SET_CHILD_SUBREAPER", Err: err}
		}
	}
	// start returns once the child has exec'd (or failed to): with the
	// signals caught above, pier-init is ready.
	ready := readyPipe()
	pid, err := start(c.Args)
	signalReady(ready)
	if err != nil {
		var se *StartError
		if errors.As(err, &se) {
			return se.Code, err
		}
		return CodeInternal, err
	}
	s := &supervisor{child: pid, group: c.Group}
	w, err := listen()
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return CodeInternal, err
	}
	go w.reroute(sigs, s.forward)
	ws := s.supervise(w)
	s.stopRest(w, c.Grace)
	return ExitCode(ws), nil
}

// tune trims the runtime: one P, since pier-init never runs two things at
// once, means fewer per-P caches and no second thread running Go code
// (cmd/pier-init already sets it in an init function, before the runtime's
// goroutines have woken extra threads). The collector is off: pier-init
// allocates almost nothing after start-up, and a collection would only
// grow the heap's bookkeeping (bench/init measured 0.1 MB less anonymous
// memory without it). The memory limit turns it back on should something
// allocate after all.
func tune() {
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(8 << 20)
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
func (s *supervisor) supervise(w *waiter) unix.WaitStatus {
	for !s.done {
		sig := w.wait(time.Time{})
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
func (s *supervisor) stopRest(w *waiter, grace time.Duration) {
	if !s.reap() {
		return
	}
	if grace > 0 {
		signalRest(unix.SIGTERM)
		signalRest(unix.SIGCONT)
	}
	deadline := time.Now().Add(grace)
	killed := false
	for {
		switch w.wait(deadline) {
		case 0: // deadline passed
			if killed {
				return
			}
			signalRest(unix.SIGKILL)
			killed = true
			deadline = time.Now().Add(killWait)
		case unix.SIGCHLD:
			if !s.reap() {
				return
			}
			if killed {
				// Whatever was forked since the last SIGKILL.
				signalRest(unix.SIGKILL)
			}
		}
		// Other signals: nobody is left to forward them to.
	}
}
