package sys

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PidfdOpen returns a pidfd for pid: a handle that keeps naming the same
// process even after its pid is reused, so signals sent through it can never
// hit a stranger.
func PidfdOpen(pid int) (*os.File, error) {
	fd, err := IgnoringEINTRFd(func() (int, error) { return unix.PidfdOpen(pid, 0) })
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid)), nil
}

// PidfdSignal sends sig to the process behind pidfd.
func PidfdSignal(pidfd *os.File, sig unix.Signal) error {
	if err := unix.PidfdSendSignal(int(pidfd.Fd()), sig, nil, 0); err != nil {
		return fmt.Errorf("pidfd_send_signal %s %s: %w", pidfd.Name(), unix.SignalName(sig), err)
	}
	return nil
}
