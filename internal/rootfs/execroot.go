package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MountExecRoot makes dir (mode 0711) and, unless it is on a memory
// filesystem already (as /run usually is), mounts a tmpfs on it: the
// engine's exec root holds files that are rewritten at every container
// start, which on a disk filesystem cost an inode search each (ext4
// without a journal skips every recently freed inode). The mount stays
// when pierd exits, since the containers it leaves running use it;
// mounted reports whether this call made it.
func MountExecRoot(dir string) (mounted bool, err error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return false, fmt.Errorf("exec root %s: %w", dir, err)
	}
	// Daemons starting together (a test harness's) must not both see no
	// tmpfs and mount two, the second hiding what the first made.
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false, fmt.Errorf("exec root %s: %w", dir, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return false, fmt.Errorf("exec root %s: lock: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("exec root %s: %w", dir, err)
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
		return false, os.Chmod(dir, 0o711)
	}
	if err := unix.Mount(execRootSource, dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0711"); err != nil {
		return false, fmt.Errorf("mount tmpfs on exec root %s: %w", dir, err)
	}
	return true, nil
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
