package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/sys"
)

// rootPropagation maps linux.rootfsPropagation to the flags / gets before
// the mounts (prepare) and after everything (final, 0 for none). A shared
// root is made shared at once, as runc does: its mounts stay in the host's
// peer groups, so a bind of an rshared host path joins the host's group and
// mounts made under it inside the container reach the host (Kubernetes'
// Bidirectional propagation). Prepare then makes the mount holding the
// rootfs private (privateParent), so that pier's own mounts under the
// rootfs never propagate out.
func rootPropagation(spec *specs.Spec) (prepare, final uintptr, err error) {
	v := ""
	if spec.Linux != nil {
		v = spec.Linux.RootfsPropagation
	}
	switch v {
	case "", "private", "rprivate":
		return unix.MS_REC | unix.MS_PRIVATE, 0, nil
	case "slave", "rslave":
		return unix.MS_REC | unix.MS_SLAVE, 0, nil
	case "shared", "rshared":
		return unix.MS_REC | unix.MS_SHARED, unix.MS_REC | unix.MS_SHARED, nil
	case "unbindable", "runbindable":
		return unix.MS_REC | unix.MS_PRIVATE, unix.MS_REC | unix.MS_UNBINDABLE, nil
	}
	return 0, 0, fmt.Errorf("linux.rootfsPropagation: unknown propagation %q", v)
}

func finishSteps(spec *specs.Spec) ([]Step, error) {
	_, final, err := rootPropagation(spec)
	if err != nil {
		return nil, err
	}
	var steps []Step
	if spec.Linux != nil {
		for i, p := range spec.Linux.ReadonlyPaths {
			if !path.IsAbs(p) {
				return nil, fmt.Errorf("linux.readonlyPaths[%d]: %q must be absolute", i, p)
			}
			steps = append(steps, Step{Phase: PhaseFinish, Kind: KindReadonly, Index: -1, Destination: path.Clean(p)})
		}
		for i, p := range spec.Linux.MaskedPaths {
			if !path.IsAbs(p) {
				return nil, fmt.Errorf("linux.maskedPaths[%d]: %q must be absolute", i, p)
			}
			steps = append(steps, Step{Phase: PhaseFinish, Kind: KindMask, Index: -1, Destination: path.Clean(p)})
		}
	}
	if spec.Root != nil && spec.Root.Readonly {
		steps = append(steps, Step{Phase: PhaseFinish, Kind: KindRemountRoot, Index: -1, Destination: "/"})
	}
	if final != 0 {
		steps = append(steps, Step{Phase: PhaseFinish, Kind: KindPropagation, Index: -1, Destination: "/", Flags: final})
	}
	return steps, nil
}

// Finish applies, after the pivot, readonlyPaths, maskedPaths, a read-only
// root and the final root propagation. Paths missing in the container are
// skipped, as the spec's defaults list paths not every kernel has.
func Finish(o Options) error {
	steps, err := Plan(o)
	if err != nil {
		return err
	}
	var null *os.File
	defer func() {
		if null != nil {
			null.Close()
		}
	}()
	for _, s := range steps {
		if s.Phase != PhaseFinish {
			continue
		}
		if s.Kind == KindMask && null == nil {
			if null, err = openDevNull(); err != nil {
				return err
			}
		}
		if err := applyFinish(s, null); err != nil {
			return err
		}
	}
	return nil
}

func applyFinish(s Step, null *os.File) error {
	switch s.Kind {
	case KindReadonly:
		return readonly(s.Destination)
	case KindMask:
		return mask(s.Destination, null)
	case KindRemountRoot:
		return remountKeeping("/", unix.MS_RDONLY)
	case KindPropagation:
		return mount("", "/", "", s.Flags, "")
	}
	return fmt.Errorf("%s: not a finish step", s)
}

func readonly(p string) error {
	err := mount(p, p, "", unix.MS_BIND|unix.MS_REC, "")
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	return remountKeeping(p, unix.MS_RDONLY)
}

// openDevNull opens the container's /dev/null for the masks, once, and
// checks it is the null device. A /dev shared with another container (a
// volume) can hold a symlink or any file there, and binding that over a
// masked path would hand the container whatever it points to, writable
// (the CVE-2025-31133 class). No symlink is followed on the way.
func openDevNull() (*os.File, error) {
	f, err := sys.OpenNoSymlinks("/", "/dev/null", unix.O_PATH, 0)
	if err != nil {
		return nil, fmt.Errorf("maskedPaths: /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("maskedPaths: fstat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		f.Close()
		return nil, fmt.Errorf("maskedPaths: the container's /dev/null is %s, not the null device (character 1:3); refusing to bind it over masked paths", describe(&st))
	}
	return f, nil
}

// describe names a file's type (and device numbers) for an error.
func describe(st *unix.Stat_t) string {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFCHR:
		return fmt.Sprintf("character device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		return fmt.Sprintf("block device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return fmt.Sprintf("a file of type %#o", st.Mode&unix.S_IFMT)
}

// mask hides p: a read-only tmpfs over a directory, the checked /dev/null
// over anything else, mounted from its descriptor onto p's.
func mask(p string, null *os.File) error {
	f, err := sys.OpenInRoot("/", p, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("mask %s: fstat: %w", p, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		target := fdPath(f)
		if _, err := os.Stat("/proc/self/fd"); err != nil {
			target = p // no /proc in this container; after the pivot p cannot lead out
		}
		return mountAs("tmpfs", target, p, "tmpfs", unix.MS_RDONLY, "")
	}
	if err := sys.BindFd(null, f); err != nil {
		return fmt.Errorf("mask %s: bind /dev/null: %w", p, err)
	}
	return nil
}

// remountKeeping remounts the bind at p with extra added to the flags it
// has. Keeping them matters: in a user namespace, clearing a flag the
// mount was locked with (nosuid, nodev, ...) is EPERM.
func remountKeeping(p string, extra uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", p, err)
	}
	flags := unix.MS_BIND | unix.MS_REMOUNT | extra | lockedFlags(st.Flags)
	return mount("", p, "", flags, "")
}

// lockedFlags translates statfs's ST_* bits to the MS_* flags a remount
// must repeat.
func lockedFlags(f int64) uintptr {
	var out uintptr
	for st, ms := range map[int64]uintptr{
		unix.ST_RDONLY: unix.MS_RDONLY, unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV,
		unix.ST_NOEXEC: unix.MS_NOEXEC, unix.ST_NOATIME: unix.MS_NOATIME,
		unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if f&st != 0 {
			out |= ms
		}
	}
	return out
}

// mount is mount(2) with an error naming the call, source, target and type:
// `mount proc on /proc (proc): operation not permitted`.
func mount(source, target, fstype string, flags uintptr, data string) error {
	return mountAs(source, target, target, fstype, flags, data)
}

// mountAs mounts on target but names display in errors (target is often
// /proc/self/fd/N, which tells a reader nothing).
func mountAs(source, target, display, fstype string, flags uintptr, data string) error {
	err := ignoringEINTR(func() error { return unix.Mount(source, target, fstype, flags, data) })
	if err == nil {
		return nil
	}
	if source == "" {
		source = "none"
	}
	t := fstype
	if t == "" {
		t = flagWords(flags)
	}
	return fmt.Errorf("mount %s on %s (%s): %w", source, display, t, err)
}

func flagWords(f uintptr) string {
	switch {
	case f&unix.MS_REMOUNT != 0:
		return "remount"
	case f&unix.MS_BIND != 0:
		return "bind"
	case f&unix.MS_MOVE != 0:
		return "move"
	case f&(unix.MS_SHARED|unix.MS_SLAVE|unix.MS_PRIVATE|unix.MS_UNBINDABLE) != 0:
		return "propagation"
	}
	return "none"
}
