package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/sys"
)

// Pivot makes o.Rootfs the root of the mount namespace and leaves the
// process in it at /. The host's root is unmounted, so nothing of it stays
// reachable. With o.NoPivot (a rootfs on ramfs, where pivot_root is EINVAL)
// the rootfs is moved over / and chrooted into instead, which is weaker:
// the old root stays mounted underneath.
func Pivot(o Options) error {
	if o.SharedMountNS {
		return chrootOnly(o.Rootfs)
	}
	if o.NoPivot {
		return moveRoot(o.Rootfs)
	}
	return pivotRoot(o.Rootfs)
}

// pivotRoot uses pivot_root(".", "."): the old root ends up stacked on the
// new one at /, which needs no directory for it inside the rootfs; it is
// then detached from where we stand after a fchdir to it.
func pivotRoot(rootfs string) error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", rootfs, err)
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return fmt.Errorf("chdir old root: %w", err)
	}
	// A slave old root: its unmount must not propagate back to the host
	// (in case / was left shared), while host events still can't reach us.
	if err := mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := sys.IgnoringEINTR(func() error { return unix.Unmount(".", unix.MNT_DETACH) }); err != nil {
		return fmt.Errorf("umount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

func moveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := mountAs(rootfs, "/", "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

func chrootOnly(rootfs string) error {
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// BindConsole binds the terminal's slave, the descriptor pty, onto
// /dev/console (after Pivot). The source is the pty itself, not a path
// under /dev/pts; the target is exactly /dev/console, created as a file
// when missing, reached through no symlink and required to be a regular
// file or a character device: a /dev shared with another container could
// otherwise move the bind anywhere in the rootfs (the CVE-2025-52565 class).
func BindConsole(pty *os.File) error {
	f, err := consoleTarget()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := sys.BindFd(pty, f); err != nil {
		return fmt.Errorf("bind the console onto /dev/console: %w", err)
	}
	return nil
}

func consoleTarget() (*os.File, error) {
	f, err := sys.OpenNoSymlinks("/", "/dev/console", unix.O_PATH, 0)
	if errors.Is(err, unix.ENOENT) {
		f, err = sys.OpenNoSymlinks("/", "/dev/console", unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY, 0o600)
	}
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("/dev/console: a symlink is on the way; refusing to bind the console through it: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("/dev/console: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("/dev/console: fstat: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		f.Close()
		return nil, fmt.Errorf("/dev/console is %s, not a file or device; refusing to bind the console onto it", describe(&st))
	}
	return f, nil
}
