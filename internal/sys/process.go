package sys

import "golang.org/x/sys/unix"

// ProcessExists reports whether pid names a process (kill(pid, 0)): a
// live one or a zombie not yet reaped. Whether it is still the process
// the caller means is the caller's to settle.
func ProcessExists(pid int) bool {
	return pid > 0 && unix.Kill(pid, 0) == nil
}

// Umask sets the process's file mode creation mask and returns the one
// before. It is process-wide: callers serialise around it.
func Umask(mask int) (old int) { return unix.Umask(mask) }

// CloseOnExec marks fd close-on-exec, so no child inherits it.
func CloseOnExec(fd int) { unix.CloseOnExec(fd) }
