package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/sys"
	"github.com/pier-engine/pier/internal/trace"
)

var ignoringEINTR = sys.IgnoringEINTR

// Prepare builds the container's filesystem under o.Rootfs: it sets the
// propagation of / (this must be the container's own mount namespace),
// binds the rootfs onto itself so it is a mount point pivot_root accepts,
// then applies the mounts in config order and makes /dev.
func Prepare(o Options) error {
	steps, err := Plan(o)
	if err != nil {
		return err
	}
	prop, _, err := rootPropagation(o.Spec)
	if err != nil {
		return err
	}
	if !o.SharedMountNS {
		if err := mount("", "/", "", prop, ""); err != nil {
			return err
		}
		if prop&unix.MS_SHARED != 0 {
			if err := privateParent(o.Rootfs); err != nil {
				return err
			}
		}
	}
	if err := mount(o.Rootfs, o.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return unreachableRoot(o, err)
	}
	trace.Mark("init", "rootfs bound")
	for _, s := range steps {
		if s.Phase != PhasePrepare {
			continue
		}
		if err := applyPrepare(o, s); err != nil {
			return err
		}
		if trace.On() {
			trace.Mark("init", traceLabel(s))
		}
	}
	return nil
}

// traceLabel names a step in the timeline: its kind, type and target.
func traceLabel(s Step) string {
	if s.Kind == KindMount || s.Kind == KindCgroup {
		return "mount " + s.Type + " " + s.Destination
	}
	return strings.SplitN(s.String(), " ", 2)[0] + " " + s.Destination
}

// unreachableRoot explains the usual EACCES of a new user namespace: the
// path is looked up as the container's root, which is an unprivileged uid
// on the host and cannot pass a directory such as a 0700 temp dir.
func unreachableRoot(o Options, err error) error {
	if !o.UserNS || !errors.Is(err, unix.EACCES) {
		return err
	}
	uid := "the mapped uid"
	if o.Spec != nil && o.Spec.Linux != nil {
		for _, m := range o.Spec.Linux.UIDMappings {
			if m.ContainerID == 0 {
				uid = fmt.Sprintf("host uid %d", m.HostID)
			}
		}
	}
	return fmt.Errorf("root.path %s: the container's root, %s in its user namespace, cannot reach it: every directory above it must be searchable by that uid: %w", o.Rootfs, uid, err)
}

func applyPrepare(o Options, s Step) error {
	if s.IfExists != "" {
		if _, err := os.Stat(s.IfExists); err != nil {
			return nil
		}
	}
	switch s.Kind {
	case KindMount:
		return applyMount(o, s)
	case KindCgroup:
		return applyCgroup(o, s)
	case KindDevice:
		return applyDevice(o, s)
	case KindSymlink:
		return applySymlink(o, s)
	case KindMkdir:
		f, err := sys.MkdirAllInRoot(o.Rootfs, s.Destination, s.Mode)
		if err != nil {
			return err
		}
		return f.Close()
	}
	return fmt.Errorf("%s: not a prepare step", s)
}

// fdPath names the object behind f for mount(2): the kernel follows the
// magic link to exactly what was opened, whatever the path has become.
func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

func applyMount(o Options, s Step) error {
	dir := true
	if s.IsBind() {
		st, err := os.Stat(s.Source)
		if err != nil {
			return fmt.Errorf("mount %s on %s (bind): %w", s.Source, s.Destination, err)
		}
		dir = st.IsDir()
	}
	dst, err := mountTarget(o.Rootfs, s.Destination, dir)
	if err != nil {
		return err
	}
	defer dst.Close()
	fstype := s.Type
	if s.IsBind() {
		fstype = ""
	}
	if err := mountAs(s.Source, fdPath(dst), s.Destination, fstype, s.Flags, s.Data); err != nil {
		if fstype == "" {
			err = fmt.Errorf("%w (bind)", err)
		}
		return err
	}
	return afterMount(o, s)
}

func mountTarget(rootfs, dest string, dir bool) (*os.File, error) {
	if dir {
		return sys.MkdirAllInRoot(rootfs, dest, 0o755)
	}
	return sys.MkfileInRoot(rootfs, dest, 0o644)
}

// afterMount applies what the first mount(2) call could not: the flags of
// a bind (remount), propagation, recursive attributes. It reopens the
// destination, which now resolves to the new mount rather than to the
// directory beneath it.
func afterMount(o Options, s Step) error {
	remount := s.IsBind() && s.remountFlags() != 0
	if !remount && len(s.Propagation) == 0 && s.Attr == nil {
		return nil
	}
	f, err := sys.OpenInRoot(o.Rootfs, s.Destination, unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	if remount {
		if err := remountBind(f, s); err != nil {
			return err
		}
	}
	for _, p := range s.Propagation {
		if err := mountAs("", fdPath(f), s.Destination, "", p, ""); err != nil {
			return err
		}
	}
	if s.Attr != nil {
		err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, s.Attr)
		if err != nil {
			return fmt.Errorf("mount_setattr %s: %w", s.Destination, err)
		}
	}
	return nil
}

// remountBind applies a bind's flags. When the source was mounted with
// flags a user namespace may not clear (nosuid, nodev, noexec, atime),
// the kernel says EPERM; retry keeping them, as they were kept anyway.
func remountBind(f *os.File, s Step) error {
	flags := unix.MS_BIND | unix.MS_REMOUNT | s.remountFlags()
	err := mountAs("", fdPath(f), s.Destination, "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	var st unix.Statfs_t
	if serr := unix.Fstatfs(int(f.Fd()), &st); serr != nil {
		return err
	}
	return mountAs("", fdPath(f), s.Destination, "", flags|lockedFlags(st.Flags)&^unix.MS_RDONLY, "")
}

func applyDevice(o Options, s Step) error {
	d := s.Device
	if o.UserNS {
		// mknod is not allowed in a user namespace: bind the host's node.
		f, err := sys.MkfileInRoot(o.Rootfs, d.Path, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		return mountAs(d.Path, fdPath(f), d.Path, "", unix.MS_BIND, "")
	}
	dir, base := path.Split(d.Path)
	parent, err := sys.MkdirAllInRoot(o.Rootfs, dir, 0o755)
	if err != nil {
		return err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	perm := uint32(*d.FileMode)
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	err = unix.Mknodat(pfd, base, perm|deviceType(d.Type), dev)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mknod %s (%s %d:%d): %w", d.Path, d.Type, d.Major, d.Minor, err)
	}
	return fixNode(pfd, base, d, deviceType(d.Type), uint64(dev))
}

// fixNode gives the node just made the config's mode and owner (mknod
// applied the umask). It works on a descriptor of the node, opened without
// following a symlink and checked to be what mknod made: a /dev shared
// with another container can swap the name for a symlink to a host file
// in between, and a chmod by name would follow it.
func fixNode(pfd int, base string, d *specs.LinuxDevice, typ uint32, dev uint64) error {
	fd, err := sys.IgnoringEINTRFd(func() (int, error) {
		return unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return fmt.Errorf("open %s after mknod: %w", d.Path, err)
	}
	f := os.NewFile(uintptr(fd), d.Path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat %s: %w", d.Path, err)
	}
	if st.Mode&unix.S_IFMT != typ || (typ != unix.S_IFIFO && st.Rdev != dev) {
		return fmt.Errorf("%s was replaced by %s while it was being made; refusing to chmod it", d.Path, describe(&st))
	}
	if err := sys.ChmodFd(f, uint32(*d.FileMode)); err != nil {
		return fmt.Errorf("chmod %s: %w", d.Path, err)
	}
	if err := sys.ChownFd(f, int(*d.UID), int(*d.GID)); err != nil {
		return fmt.Errorf("chown %s: %w", d.Path, err)
	}
	return nil
}

func deviceType(t string) uint32 {
	switch t {
	case "b":
		return unix.S_IFBLK
	case "p":
		return unix.S_IFIFO
	}
	return unix.S_IFCHR // "c" and "u" (unbuffered) are both character devices
}

func applySymlink(o Options, s Step) error {
	dir, base := path.Split(s.Destination)
	parent, err := sys.MkdirAllInRoot(o.Rootfs, dir, 0o755)
	if err != nil {
		return err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	if s.Replace {
		if err := unix.Unlinkat(pfd, base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s: %w", s.Destination, err)
		}
	}
	err = unix.Symlinkat(s.Target, pfd, base)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("symlink %s -> %s: %w", s.Destination, s.Target, err)
	}
	return nil
}
