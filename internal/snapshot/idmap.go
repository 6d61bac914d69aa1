package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// MountIDMapped is Mount for a container in a user namespace of its own
// (a CRI pod's, userns is its namespace file): the image's layers are
// seen through idmapped mounts of that namespace, so the container's root
// owns what the host's root owns in them, without a chown of any layer.
// Overlayfs cannot itself be idmapped, and an idmapped upper layer would
// be written by the mounter (host root, which the mapping does not
// cover), so only the lower layers are idmapped; the upper directory
// stays plain and its top is given to the mapped root (rootUID:rootGID),
// and what the container writes is owned on the host by the mapped ids.
// The idmapped layers are attached under the container's directory only
// for the overlay's mount: overlayfs keeps private clones of its layers.
func (s *Store) MountIDMapped(id, target, userns string, rootUID, rootGID int) error {
	k, lowers, err := s.activeLowers(id)
	if err != nil {
		return err
	}
	dir := s.path("active", k)
	upper := s.path("active", k, "upper")
	if err := os.Chown(upper, rootUID, rootGID); err != nil {
		return fmt.Errorf("mount %s: %w", id, err)
	}
	nsf, err := os.Open(userns)
	if err != nil {
		return fmt.Errorf("mount %s: user namespace: %w", id, err)
	}
	defer nsf.Close()
	tmp, err := os.MkdirTemp(dir, "idmap-")
	if err != nil {
		return fmt.Errorf("mount %s: %w", id, err)
	}
	var attached []string
	defer func() {
		for _, m := range attached {
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
		_ = os.RemoveAll(tmp)
	}()
	mapped := make([]string, len(lowers))
	for i, l := range lowers {
		mapped[i] = filepath.Join(tmp, strconv.Itoa(i))
		if err := idmapBind(l, mapped[i], int(nsf.Fd())); err != nil {
			return fmt.Errorf("mount %s: %w", id, err)
		}
		attached = append(attached, mapped[i])
	}
	o := overlay{lowers: mapped, upper: upper, work: s.path("active", k, "work")}
	if err := o.mount(target); err != nil {
		return fmt.Errorf("mount %s on %s: %w", id, target, err)
	}
	return nil
}

// idmapBind attaches on dst (a directory it makes) a clone of src that
// shows its ids through the user namespace usernsFd.
func idmapBind(src, dst string, usernsFd int) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(usernsFd)}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("idmap %s: the file system or kernel has no idmapped mounts: %w", src, err)
		}
		return fmt.Errorf("idmap %s: %w", src, err)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount %s: %w", dst, err)
	}
	return nil
}
