package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rootPropagation maps linux.rootfsPropagation to the flags / gets before
// the mounts (prepare) and after everything (final, 0 for none). A shared
// root is made a slave first: / of a new mount namespace is still in the
// host's peer groups, and making it shared there would let the container's
// mounts propagate to the host.
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
		return unix.MS_REC | unix.MS_SLAVE, unix.MS_REC | unix.MS_SHARED, nil
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
	for _, s := range steps {
		if s.Phase != PhaseFinish {
			continue
		}
		if err := applyFinish(s); err != nil {
			return err
		}
	}
	return nil
}

func applyFinish(s Step) error {
	switch s.Kind {
	case KindReadonly:
		return readonly(s.Destination)
	case KindMask:
		return mask(s.Destination)
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

func mask(p string) error {
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	if st.IsDir() {
		return mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
	}
	return mount("/dev/null", p, "", unix.MS_BIND, "")
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
