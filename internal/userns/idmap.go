package userns

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// BindIDMapped attaches on dst (a file or directory it makes, as src is)
// a recursive clone of src whose ids are seen through the user namespace
// file userns: a CRI volume with uid/gid mappings, which the container
// then binds. Unbind undoes it. On failure nothing is left.
func BindIDMapped(src, dst, userns string) (err error) {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("idmapped mount of %s: %w", src, err)
	}
	if st.IsDir() {
		err = os.Mkdir(dst, 0o700)
	} else {
		var f *os.File
		if f, err = os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o400); err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("idmapped mount of %s: %w", src, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	nsf, err := os.Open(userns)
	if err != nil {
		return fmt.Errorf("idmapped mount of %s: user namespace: %w", src, err)
	}
	defer nsf.Close()
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(nsf.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("idmap %s: its file system (or one mounted under it) has no idmapped mounts: %w", src, err)
		}
		return fmt.Errorf("idmap %s: %w", src, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount %s: %w", dst, err)
	}
	return nil
}

// Unbind detaches what BindIDMapped attached on dst and removes dst; what
// is already gone is not an error. dst is removed only once it is no
// longer a mount point (os.Remove, never a recursive removal: a volume's
// files must not be reached through it).
func Unbind(dst string) error {
	err := unix.Unmount(dst, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", dst, err)
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("idmapped mount %s: %w", dst, err)
	}
	return nil
}
