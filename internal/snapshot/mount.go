package snapshot

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount mounts the rootfs of container id (see Prepare) on target, one
// overlay mount whatever the number of layers. Unmount undoes it.
func (s *Store) Mount(id, target string) error { return s.mount(id, target, false) }

// MountVolatile is Mount for a writable layer that is thrown away at the
// container's end (docker run --rm): overlay's volatile option drops the
// sync of the whole upper file system that unmounting otherwise does
// (tens of milliseconds on a busy disk, at every exit). After a host
// crash such a layer may be incomplete, and the kernel refuses to mount
// it again: it is never mounted again, only removed. A kernel without
// the option (before 5.10) mounts it as Mount does.
func (s *Store) MountVolatile(id, target string) error { return s.mount(id, target, true) }

func (s *Store) mount(id, target string, volatile bool) error {
	k, lowers, err := s.activeLowers(id)
	if err != nil {
		return err
	}
	o := overlay{lowers: lowers, upper: s.path("active", k, "upper"), work: s.path("active", k, "work"), volatile: volatile}
	err = o.mount(target)
	if err != nil && volatile && errors.Is(err, unix.EINVAL) {
		o.volatile = false
		err = o.mount(target)
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", id, target, err)
	}
	return nil
}

// activeLowers gives the key of the active snapshot id and the layers
// under it, top first (the empty layer for a snapshot with no parent).
func (s *Store) activeLowers(id string) (string, []string, error) {
	k, err := key(id)
	if err != nil {
		return "", nil, err
	}
	parent, err := readParent(s.path("active", k))
	if err != nil {
		return "", nil, fmt.Errorf("mount %s: %w", id, err)
	}
	if parent == "" {
		return k, []string{s.path("empty")}, nil
	}
	lowers, err := s.Chain(parent)
	if err != nil {
		return "", nil, fmt.Errorf("mount %s: %w", id, err)
	}
	return k, lowers, nil
}

// Unmount unmounts a rootfs that Mount mounted on target.
func Unmount(target string) error {
	for {
		err := unix.Unmount(target, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
		return nil
	}
}

type overlay struct {
	lowers      []string // top first
	upper, work string
	volatile    bool
}

// mount prefers the new mount API: fsconfig's "lowerdir+" takes one layer
// per call (Linux 6.8), so a chain of any length fits, where mount(2) must
// fit every lower directory into one page of options.
func (o overlay) mount(target string) error {
	err := o.fsmount(target)
	if err == nil || !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	data := o.options()
	if len(data) >= os.Getpagesize() {
		return fmt.Errorf("%d layers need %d bytes of mount options and this kernel lacks overlay lowerdir+: %w",
			len(o.lowers), len(data), err)
	}
	if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	return nil
}

func (o overlay) options() string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)
	l := make([]string, len(o.lowers))
	for i, d := range o.lowers {
		l[i] = esc.Replace(d)
	}
	opts := "lowerdir=" + strings.Join(l, ":") + ",upperdir=" + esc.Replace(o.upper) + ",workdir=" + esc.Replace(o.work)
	if o.volatile {
		opts += ",volatile"
	}
	return opts
}

func (o overlay) fsmount(target string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	set := func(k, v string) error {
		if err := unix.FsconfigSetString(fd, k, v); err != nil {
			return fmt.Errorf("fsconfig %s=%s: %w%s", k, v, err, fsLog(fd))
		}
		return nil
	}
	for _, l := range o.lowers {
		if err := set("lowerdir+", l); err != nil {
			return err
		}
	}
	if err := set("upperdir", o.upper); err != nil {
		return err
	}
	if err := set("workdir", o.work); err != nil {
		return err
	}
	if o.volatile {
		if err := unix.FsconfigSetFlag(fd, "volatile"); err != nil {
			return fmt.Errorf("fsconfig volatile: %w%s", err, fsLog(fd))
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("create overlay: %w%s", err, fsLog(fd))
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount %s: %w", target, err)
	}
	return nil
}

// fsLog reads the messages the kernel left on a file system context; they
// say which option it disliked, which errno alone does not.
func fsLog(fd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for range 16 {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}
