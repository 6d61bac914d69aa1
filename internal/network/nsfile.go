package network

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// NewIPCNamespace makes a new IPC namespace and bind-mounts it on path, as
// NewNetns does for a network one: the containers of a CRI pod join it with
// no process holding it. DeleteNamespace undoes it.
func NewIPCNamespace(path string) error { return newNamespace(path, unix.CLONE_NEWIPC, "") }

// NewUTSNamespace is NewIPCNamespace for a UTS namespace with hostname.
func NewUTSNamespace(path, hostname string) error {
	return newNamespace(path, unix.CLONE_NEWUTS, hostname)
}

func newNamespace(path string, flag int, hostname string) (err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("namespace %s: create mount point: %w", path, err)
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
		back, err := unshareTo(path, flag, hostname)
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

func unshareTo(path string, flag int, hostname string) (back bool, err error) {
	name := map[int]string{unix.CLONE_NEWNET: "net", unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWUTS: "uts"}[flag]
	if name == "" {
		return true, fmt.Errorf("namespace %s: flag %#x is not net, IPC or UTS", path, flag)
	}
	self := fmt.Sprintf("/proc/self/task/%d/ns/%s", unix.Gettid(), name)
	orig, err := os.Open(self)
	if err != nil {
		return true, fmt.Errorf("namespace %s: %w", path, err)
	}
	defer orig.Close()
	if err := unix.Unshare(flag); err != nil {
		return true, fmt.Errorf("namespace %s: unshare %s: %w", path, name, err)
	}
	if flag == unix.CLONE_NEWUTS && hostname != "" {
		err = unix.Sethostname([]byte(hostname))
		if err != nil {
			err = fmt.Errorf("namespace %s: hostname %q: %w", path, hostname, err)
		}
	}
	if err == nil {
		if err = unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
			err = fmt.Errorf("namespace %s: bind mount %s: %w", path, self, err)
		}
	}
	if serr := unix.Setns(int(orig.Fd()), flag); serr != nil {
		return false, errors.Join(err, fmt.Errorf("namespace %s: back to the daemon's: %w", path, serr))
	}
	return true, err
}

// DeleteNamespace unmounts and removes a file NewIPCNamespace or
// NewUTSNamespace made; what is
// already gone is not an error.
func DeleteNamespace(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("namespace %s: unmount: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("namespace %s: %w", path, err)
	}
	return nil
}
