package sys

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseExecFrom marks every descriptor >= minFd close-on-exec, so that the
// user's program inherits only what it was meant to (stdio and the
// preserved fds below minFd). Closing them outright would break the Go
// runtime, which owns some of them (its epoll fd, for one) until execve.
func CloseExecFrom(minFd int) error {
	if minFd < 0 {
		return fmt.Errorf("close_range from %d: %w", minFd, unix.EINVAL)
	}
	err := IgnoringEINTR(func() error {
		return unix.CloseRange(uint(minFd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	})
	if err == nil {
		return nil
	}
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC (EINVAL) or the whole
	// call (ENOSYS); seccomp profiles may also return EPERM.
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("close_range from %d: %w", minFd, err)
	}
	return cloexecByScan(minFd)
}

func cloexecByScan(minFd int) error {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read /proc/self/fd: %w", err)
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < minFd || fd == int(d.Fd()) {
			continue
		}
		// The fd may have been closed since the listing: EBADF is fine.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("fcntl F_SETFD fd %d: %w", fd, err)
		}
	}
	return nil
}
