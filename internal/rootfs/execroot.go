package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MountExecRoot makes the exec root dir under mount (the same directory,
// or its parent when daemons share one tmpfs), mounting a tmpfs on mount
// unless it is on a memory filesystem already (as /run usually is): the
// engine's exec root holds files that are rewritten at every container
// start, which on a disk filesystem cost an inode search each (ext4
// without a journal skips every recently freed inode). mounted reports
// whether this call made the mount. ReleaseExecRoot takes it down when
// the last exec root under it goes.
func MountExecRoot(mount, dir string) (mounted bool, err error) {
	err = withExecRootLock(mount, func() error {
		var st unix.Statfs_t
		if err := unix.Statfs(mount, &st); err != nil {
			return err
		}
		if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
			if err := os.Chmod(mount, 0o711); err != nil {
				return err
			}
		} else {
			if err := unix.Mount(execRootSource, mount, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0711"); err != nil {
				return fmt.Errorf("mount tmpfs: %w", err)
			}
			mounted = true
		}
		// Made under the lock: a daemon releasing the shared tmpfs must
		// see this exec root, or it would take the mount from under it.
		return os.MkdirAll(dir, 0o711)
	})
	return mounted, err
}

// ReleaseExecRoot removes the exec root dir under mount and, once mount
// holds no other daemon's exec root, the tmpfs MountExecRoot put there,
// so that a daemon started for a while (a demo, a test, a bench) leaves
// no mount behind. A daemon that leaves containers must not call it.
func ReleaseExecRoot(mount, dir string) error {
	return withExecRootLock(mount, func() error {
		if dir != mount {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			if left, err := os.ReadDir(mount); err != nil || len(left) > 0 {
				return err
			}
		}
		if err := UnmountExecRoot(mount); err != nil {
			return err
		}
		if dir == mount {
			return os.RemoveAll(dir)
		}
		return nil
	})
}

// withExecRootLock runs fn holding a lock beside mount: daemons starting
// and stopping together (a test harness's) must neither both see no tmpfs
// and mount two, the second hiding what the first made, nor take the
// tmpfs down while another makes its exec root on it.
func withExecRootLock(mount string, fn func() error) error {
	if err := os.MkdirAll(mount, 0o711); err != nil {
		return fmt.Errorf("exec root %s: %w", mount, err)
	}
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(mount), "."+filepath.Base(mount)+".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("exec root %s: %w", mount, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("exec root %s: lock: %w", mount, err)
	}
	if err := fn(); err != nil {
		return fmt.Errorf("exec root %s: %w", mount, err)
	}
	return nil
}

// execRootSource names the tmpfs MountExecRoot makes, so that
// UnmountExecRoot takes down only pier's.
const execRootSource = "pier-exec"

// UnmountExecRoot lazily unmounts the tmpfs MountExecRoot made on dir, if
// one is there; anything else mounted on dir is left alone.
func UnmountExecRoot(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("exec root %s: %w", dir, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) > 4 && len(g) > 1 && f[4] == dir && g[0] == "tmpfs" && g[1] == execRootSource {
			return Detach(dir)
		}
	}
	return nil
}
