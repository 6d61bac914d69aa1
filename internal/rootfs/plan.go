package rootfs

import (
	"fmt"
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Options is what the container init knows when it builds the filesystem.
type Options struct {
	Rootfs  string      // absolute host path of the root filesystem (already resolved)
	Spec    *specs.Spec // the container's config
	NoPivot bool        // MS_MOVE + chroot instead of pivot_root (rootfs on a ramfs)
	UserNS  bool        // in a new user namespace: devices are bound from the host, not made with mknod
	// SharedMountNS: the config has no mount namespace, so the container
	// shares its creator's. / is then neither re-propagated nor pivoted
	// (pivot_root would move every process of that namespace); the
	// container is chrooted instead, as runc does.
	SharedMountNS bool
}

// Phase says which call applies a step.
type Phase int

const (
	PhasePrepare Phase = iota // Prepare, before the pivot, paths relative to the rootfs
	PhaseFinish               // Finish, after the pivot, paths in the container
)

// Kind is what a step does.
type Kind int

const (
	KindMount       Kind = iota // mount Source on Destination
	KindCgroup                  // the config's "cgroup" mount, expanded against the host at apply time
	KindMkdir                   // make Destination a directory
	KindDevice                  // make the device node Device (or bind it from the host in a userns)
	KindSymlink                 // Destination -> Target
	KindMask                    // hide Destination: /dev/null over a file, a read-only tmpfs over a dir
	KindReadonly                // bind Destination onto itself read-only
	KindRemountRoot             // remount / read-only
	KindPropagation             // set the propagation of / to Flags
)

// Step is one action of the plan.
type Step struct {
	Phase       Phase
	Kind        Kind
	Index       int    // index in spec.mounts for KindMount and KindCgroup, else -1
	Destination string // absolute, inside the container
	Source      string
	Type        string // filesystem type; "bind" for binds
	Flags       uintptr
	Propagation []uintptr       // applied one mount(2) each after the mount
	Attr        *unix.MountAttr // recursive attributes, applied with mount_setattr
	Data        string
	Device      *specs.LinuxDevice // KindDevice
	Target      string             // KindSymlink: the link's content
	Replace     bool               // KindSymlink: remove what is at Destination first
	IfExists    string             // skip the step unless this host path exists
	Mode        os.FileMode        // KindMkdir
}

// IsBind reports whether the step is a bind mount.
func (s Step) IsBind() bool { return s.Kind == KindMount && s.Flags&unix.MS_BIND != 0 }

// remountFlags is what a bind needs applied by a second, MS_REMOUNT call:
// the first MS_BIND call ignores everything but MS_REC.
func (s Step) remountFlags() uintptr {
	return s.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
}

func (s Step) String() string {
	switch s.Kind {
	case KindMount, KindCgroup:
		return fmt.Sprintf("mount %s on %s (%s) flags=%#x data=%q prop=%v", s.Source, s.Destination, s.Type, s.Flags, s.Data, s.Propagation)
	case KindDevice:
		return fmt.Sprintf("device %s %s %d:%d", s.Destination, s.Device.Type, s.Device.Major, s.Device.Minor)
	case KindSymlink:
		return fmt.Sprintf("symlink %s -> %s", s.Destination, s.Target)
	case KindMkdir:
		return "mkdir " + s.Destination
	case KindMask:
		return "mask " + s.Destination
	case KindReadonly:
		return "readonly " + s.Destination
	case KindRemountRoot:
		return "remount / ro"
	case KindPropagation:
		return fmt.Sprintf("propagation / %#x", s.Flags)
	}
	return fmt.Sprintf("step kind %d", s.Kind)
}

// Plan validates o and returns the ordered steps of Prepare and Finish.
// Errors name the offending field: `mounts[2].destination: must be absolute`.
func Plan(o Options) ([]Step, error) {
	if o.Spec == nil {
		return nil, fmt.Errorf("rootfs: no spec")
	}
	if !path.IsAbs(o.Rootfs) {
		return nil, fmt.Errorf("root.path: %q must be resolved to an absolute path", o.Rootfs)
	}
	var steps []Step
	for i, m := range o.Spec.Mounts {
		s, err := mountStep(i, m)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	if needsDev(o.Spec) {
		dev, err := devSteps(o)
		if err != nil {
			return nil, err
		}
		steps = append(steps, dev...)
	}
	fin, err := finishSteps(o.Spec)
	if err != nil {
		return nil, err
	}
	return append(steps, fin...), nil
}

func mountStep(i int, m specs.Mount) (Step, error) {
	field := fmt.Sprintf("mounts[%d]", i)
	if !path.IsAbs(m.Destination) {
		return Step{}, fmt.Errorf("%s.destination: %q must be absolute", field, m.Destination)
	}
	fstype := m.Type
	bind := fstype == "bind"
	for _, o := range m.Options {
		bind = bind || o == "bind" || o == "rbind"
	}
	if bind {
		fstype = "bind"
	}
	if fstype == "" || fstype == "none" {
		return Step{}, fmt.Errorf("%s.type: missing (and no bind option)", field)
	}
	p, err := parseOptions(fstype, m.Options)
	if err != nil {
		return Step{}, fmt.Errorf("%s.options: %w", field, err)
	}
	if bind {
		p.flags |= unix.MS_BIND
		if m.Source == "" {
			return Step{}, fmt.Errorf("%s.source: a bind mount needs a source", field)
		}
	}
	s := Step{
		Kind: KindMount, Index: i, Destination: path.Clean(m.Destination),
		Source: m.Source, Type: fstype, Flags: p.flags,
		Propagation: p.propagation, Attr: p.attr, Data: strings.Join(p.data, ","),
	}
	if fstype == "cgroup" {
		s.Kind = KindCgroup
	}
	return s, nil
}

// needsDev: a config that binds the host's /dev gets it as it is, as runc does.
func needsDev(spec *specs.Spec) bool {
	for _, m := range spec.Mounts {
		if path.Clean(m.Destination) != "/dev" {
			continue
		}
		s, err := mountStep(0, m)
		if err == nil && s.IsBind() {
			return false
		}
	}
	return true
}
