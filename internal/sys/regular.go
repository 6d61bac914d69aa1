package sys

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenRegularInRoot opens path inside root for reading, for files a
// container controls that pierd reads (its /etc/passwd and /etc/group):
// resolved as OpenInRoot does (symlinks, the final one too, resolve
// inside root, as dockerd follows an image's /etc/passwd link), but the
// open does not block (a FIFO would hang the reader forever), and
// anything but a regular file (a FIFO, a device, a directory) is
// refused with EINVAL.
func OpenRegularInRoot(root, path string) (*os.File, error) {
	f, err := OpenInRoot(root, path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, err
	}
	if err := requireType(int(f.Fd()), unix.S_IFREG); err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s in %s: not a regular file: %w", path, root, unix.EINVAL)
	}
	return f, nil
}
