package cgroups

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Mode is the cgroup layout of the machine.
type Mode int

const (
	// V1 has one hierarchy per controller.
	V1 Mode = iota + 1
	// V2 has the single unified hierarchy at the root.
	V2
	// Hybrid has v1 controllers and a controller-less cgroup2 at
	// <root>/unified, which still offers cgroup.freeze, cgroup.kill and
	// cgroup.events.
	Hybrid
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case V2:
		return "v2"
	case Hybrid:
		return "hybrid"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultRoot is where cgroupfs is mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Parent is the directory, under each hierarchy, that holds the cgroups of
// relative and default paths.
const Parent = "pier"

// Config says where a container's cgroup is.
type Config struct {
	// Path is the spec's linux.cgroupsPath: "" means /pier/<ID>, a relative
	// path a/b means /pier/a/b, an absolute path is used as given.
	Path string
	// ID is the container id.
	ID string
	// Root is the cgroupfs mount root, DefaultRoot when empty.
	Root string
}

// Manager is one container's cgroup in every hierarchy of the machine.
type Manager interface {
	// Apply creates the cgroup and moves pid into it; pid <= 0 only
	// creates it.
	Apply(pid int) error
	// Set validates r against what the machine offers, then writes it.
	// Device rules are left alone when r.Devices is empty.
	Set(r *specs.LinuxResources) error
	// Validate reports what of r cannot be honoured here, naming the field.
	Validate(r *specs.LinuxResources) error
	// Freeze stops every process and returns once the kernel says frozen.
	Freeze() error
	// Thaw resumes a frozen cgroup.
	Thaw() error
	// FreezerState is "frozen" or "thawed".
	FreezerState() (string, error)
	// Procs lists every pid in the cgroup and its descendants.
	Procs() ([]int, error)
	// KillAll sends sig to every process in the cgroup.
	KillAll(sig unix.Signal) error
	// Stats reads usage and limits.
	Stats() (*Stats, error)
	// OOMKillCount is how many processes the OOM killer killed here.
	OOMKillCount() (uint64, error)
	// Destroy kills what is left and removes the cgroup's directories.
	Destroy() error
	// Paths maps each v1 controller, and "" for the cgroup2 tree, to the
	// cgroup's absolute directory.
	Paths() map[string]string
	// Mode is the layout in use.
	Mode() Mode
}

// New detects the layout under cfg.Root and computes the container's
// directories. It changes nothing on the machine.
func New(cfg Config) (Manager, error) {
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	rel, err := cgroupPath(cfg)
	if err != nil {
		return nil, err
	}
	l, err := detect(cfg.Root)
	if err != nil {
		return nil, err
	}
	m := &manager{layout: l, rel: rel, created: map[string]bool{}}
	m.paths = map[string]string{}
	for ctrl, dir := range l.v1 {
		m.paths[ctrl] = filepath.Join(dir, rel)
	}
	if l.unified != "" {
		m.paths[""] = filepath.Join(l.unified, rel)
	}
	return m, nil
}

// cgroupPath resolves cfg.Path to a clean absolute path below a hierarchy's
// root.
func cgroupPath(cfg Config) (string, error) {
	p := cfg.Path
	if p == "" {
		if cfg.ID == "" || strings.ContainsAny(cfg.ID, "/") || cfg.ID == "." || cfg.ID == ".." {
			return "", fmt.Errorf("cgroup path for container id %q: invalid id", cfg.ID)
		}
		p = path.Join("/", Parent, cfg.ID)
	} else if !path.IsAbs(p) {
		p = path.Join("/", Parent, p)
	}
	p = path.Clean(p)
	if p == "/" || (!path.IsAbs(cfg.Path) && cfg.Path != "" && !strings.HasPrefix(p, "/"+Parent+"/")) {
		return "", fmt.Errorf("cgroup path %q: resolves to %q, outside a container cgroup", cfg.Path, p)
	}
	return p, nil
}
