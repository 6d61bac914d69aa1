package sys

import (
	"errors"

	"golang.org/x/sys/unix"
)

// IgnoringEINTR calls fn until it returns something other than EINTR. Go
// installs its signal handlers with SA_RESTART, but some calls (mount on a
// FUSE path, open of a FIFO, close_range on some kernels) still return EINTR
// when a signal lands, and retrying is always what we want.
func IgnoringEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// IgnoringEINTRFd is IgnoringEINTR for calls that return a descriptor.
func IgnoringEINTRFd(fn func() (int, error)) (int, error) {
	for {
		fd, err := fn()
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
