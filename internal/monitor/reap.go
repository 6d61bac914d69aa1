package monitor

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper waits for the container's init without ever holding an exit
// status that an exec could lose: it waits with WNOWAIT, which leaves the
// child a zombie, and reaps only under mu. The handover takes mu before
// it execs, so a child that exits meanwhile stays a zombie of this pid
// and the next image reaps it (execve keeps the pid and its children).
type reaper struct {
	pid int

	mu sync.Mutex
	// done is set once the init has been reaped. Guarded by mu.
	done bool
}

// wait reaps children until the container's init is among them: orphans
// of the container (without a PID namespace) and of the runtime are
// re-parented to us as their subreaper.
func (r *reaper) wait() (unix.WaitStatus, error) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("waitid for container init %d: %w", r.pid, err)
		}
		ws, got, err := r.reapOne()
		if err != nil {
			return 0, fmt.Errorf("wait4 for container init %d: %w", r.pid, err)
		}
		if got {
			return ws, nil
		}
	}
}

// reapOne reaps one zombie, if any; got says it was the init.
func (r *reaper) reapOne() (ws unix.WaitStatus, got bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
	if errors.Is(err, unix.EINTR) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if pid == r.pid {
		r.done = true
		return ws, true, nil
	}
	return 0, false, nil
}

// hold stops reaping until release; false (and nothing held) if the init
// is reaped already.
func (r *reaper) hold() bool {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return false
	}
	return true
}

func (r *reaper) release() { r.mu.Unlock() }
