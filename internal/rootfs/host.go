package rootfs

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// The mounts pierd makes on the host for a container, outside its
// namespaces, and takes down after it ends: the engine (L3) does not talk
// to the kernel itself.

// MountShm mounts a tmpfs for a container's /dev/shm on dir (which must
// exist), size bytes large, as Docker's: world-writable with the sticky
// bit, nosuid, nodev, noexec.
func MountShm(dir string, size int64) error {
	opts := "mode=1777,size=" + strconv.FormatInt(size, 10)
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount shm on %s: %w", dir, err)
	}
	return nil
}

// Detach lazily unmounts what is mounted on path, once. Nothing mounted
// there, or no path at all, is not an error.
func Detach(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", path, err)
}

// DetachAll lazily unmounts every mount stacked on path, until none is
// left or one cannot be unmounted.
func DetachAll(path string) {
	for {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
	}
}
