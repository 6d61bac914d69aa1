package sys

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BindFd bind-mounts the object behind src onto the object behind dst.
// Both are descriptors (O_PATH is enough), so neither can be swapped for a
// symlink between a check and the mount: open_tree(OPEN_TREE_CLONE) makes
// a detached bind of exactly src, and move_mount attaches it on exactly
// dst. Kernels before 5.2 lack both; mount(2) then gets the /proc/self/fd
// magic links, which the kernel resolves to the same two objects.
func BindFd(src, dst *os.File) error {
	tree, err := CloneMount(src)
	if errors.Is(err, unix.ENOSYS) {
		return IgnoringEINTR(func() error {
			return unix.Mount(FdPath(src), FdPath(dst), "", unix.MS_BIND, "")
		})
	}
	if err != nil {
		return err
	}
	defer tree.Close()
	err = unix.MoveMount(int(tree.Fd()), "", int(dst.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// CloneMount returns a detached, non-recursive bind of the object behind
// f: a mount of its own that nothing else is mounted on and that no other
// process can reach. ENOSYS (wrapped) before Linux 5.2.
func CloneMount(f *os.File) (*os.File, error) {
	fd, err := unix.OpenTree(int(f.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return nil, fmt.Errorf("open_tree: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// FdPath names the object behind f through procfs, for the calls that take
// only a path: the kernel follows the magic link to exactly what was opened.
func FdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// ChmodFd sets the mode of the object behind f, which may be an O_PATH
// descriptor of a device node or FIFO, without following a symlink and
// without a path (fchmodat2 AT_EMPTY_PATH, Linux 6.6); older kernels get
// chmod of the /proc/self/fd magic link, the same object.
func ChmodFd(f *os.File, mode uint32) error {
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(sysFchmodat2, f.Fd(), uintptr(unsafe.Pointer(empty)), uintptr(mode), unix.AT_EMPTY_PATH, 0, 0)
	if errno == 0 {
		return nil
	}
	if errno != unix.ENOSYS && errno != unix.EINVAL {
		return fmt.Errorf("fchmodat2: %w", errno)
	}
	return IgnoringEINTR(func() error { return unix.Chmod(FdPath(f), mode) })
}

// ChownFd sets the owner of the object behind f (O_PATH is enough),
// without following a symlink.
func ChownFd(f *os.File, uid, gid int) error {
	return IgnoringEINTR(func() error { return unix.Fchownat(int(f.Fd()), "", uid, gid, unix.AT_EMPTY_PATH) })
}

// sysFchmodat2 is the same number on every architecture (syscalls from 424
// on are unified); x/sys does not name it yet.
const sysFchmodat2 = 452
