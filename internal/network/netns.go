package network

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// NewNetns creates a network namespace holding only a down lo and keeps it
// alive with a bind mount on path, a new file, so that pier can wire the
// namespace before any process of the container exists and the namespace
// outlives pierd. The caller removes it with DeleteNetns.
func NewNetns(path string) (err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("netns %s: create mount point: %w", path, err)
	}
	_ = f.Close()
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	errc := make(chan error, 1)
	go func() {
		// The thread that unshares is never unlocked: it ends with this
		// goroutine, so no other goroutine ever runs in the new namespace.
		runtime.LockOSThread()
		errc <- unshareNetTo(path)
	}()
	return <-errc
}

func unshareNetTo(path string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netns %s: unshare: %w", path, err)
	}
	src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("netns %s: bind mount %s: %w", path, src, err)
	}
	return nil
}

// DeleteNetns unmounts and removes a namespace file NewNetns made; the
// namespace itself goes once no process is left in it. A file already gone
// or not mounted is not an error, so clean-up after a crash can call it
// blindly.
func DeleteNetns(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netns %s: unmount: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netns %s: %w", path, err)
	}
	return nil
}
