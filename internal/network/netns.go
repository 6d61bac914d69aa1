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
		runtime.LockOSThread()
		back, err := unshareNetTo(path)
		// A thread that could not go back to the daemon's namespace stays
		// locked and ends with this goroutine. Returning is the rule, not
		// ending: Go parks rather than ends the main thread, and /proc/self
		// shows the main thread's namespace.
		if back {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// unshareNetTo moves the calling (locked) thread into a new network
// namespace, binds it on path and moves the thread back; back says it is.
func unshareNetTo(path string) (back bool, err error) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return true, fmt.Errorf("netns %s: %w", path, err)
	}
	defer orig.Close()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return true, fmt.Errorf("netns %s: unshare: %w", path, err)
	}
	src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err = unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		err = fmt.Errorf("netns %s: bind mount %s: %w", path, src, err)
	}
	if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
		return false, errors.Join(err, fmt.Errorf("netns %s: back to the daemon's namespace: %w", path, serr))
	}
	return true, err
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
