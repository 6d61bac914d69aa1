package specgen

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

// InitTarget is where the engine's init is bind-mounted inside a container,
// like Docker's /sbin/docker-init.
const InitTarget = "/sbin/pier-init"

// DefaultCgroupParent is the parent of every container's cgroup unless
// Input or HostConfig names another.
const DefaultCgroupParent = "/pier"

// OCIVersion is the ociVersion of the specs Build writes: 1.1.0, the newest
// Debian 12's crun (1.8.1) accepts ("unknown version specified" above it).
// Build sets no field that runtime-spec added after 1.1.
const OCIVersion = "1.1.0"

// defaultStopTimeout is Docker's: 10 s between the stop signal and SIGKILL.
const defaultStopTimeout = 10 * time.Second

// Input is everything Build needs. ID, Config, HostConfig and Rootfs are
// required; the rest has defaults.
type Input struct {
	ID   string // full container id; its first 12 characters are the default hostname
	Name string // container name without the leading "/"; Docker puts none in the spec, nor do we yet

	Image      *v1.ConfigFile // the image's config; nil for none (import of an empty image)
	Config     *container.Config
	HostConfig *container.HostConfig

	Rootfs string // the container's root filesystem, already mounted

	// Layers, top first (the container's upper directory, then the
	// image's layers), are where /etc/passwd and /etc/group are read when
	// given: at create, Rootfs is not mounted yet.
	Layers []string

	// Per-container files bind-mounted over /etc/hostname, /etc/hosts and
	// /etc/resolv.conf; an empty path mounts nothing.
	HostnamePath, HostsPath, ResolvConfPath string

	// InitPath is the host path of pier-init, required unless
	// HostConfig.Init is false.
	InitPath string

	// CgroupParent is the daemon's parent cgroup (DefaultCgroupParent if
	// empty); HostConfig.CgroupParent overrides it.
	CgroupParent string

	// DefaultCgroupns is the daemon's cgroup namespace mode when HostConfig
	// leaves it empty; empty means private.
	DefaultCgroupns container.CgroupnsMode

	// ContainerPID returns the init pid of another running container, for
	// the container:<name|id> namespace modes.
	ContainerPID func(idOrName string) (int, error)

	// NetnsPath is the network namespace the engine prepares for the
	// bridge and user-defined network modes; empty gives those modes a
	// new namespace with only lo.
	NetnsPath string

	// ShmPath is a host directory (a tmpfs the engine mounts) to bind on
	// /dev/shm, for shareable IPC and --ipc container:X; empty gives the
	// container its own tmpfs.
	ShmPath string

	// VolumePath returns the host directory of a named volume.
	VolumePath func(name string) (string, error)

	// Device describes a host device node for HostConfig.Devices; nil
	// uses stat(2).
	Device func(hostPath string) (specs.LinuxDevice, error)

	// HostDevices lists the host's devices for a privileged container; nil
	// walks /dev.
	HostDevices func() ([]specs.LinuxDevice, error)

	// HostCapabilities is the engine's capability bounding set, which bounds
	// what privileged and --cap-add ALL get: a container cannot hold a
	// capability the engine lacks. nil reads it from /proc/self/status.
	HostCapabilities func() ([]string, error)

	// NumCPU bounds HostConfig.NanoCPUs; 0 means this machine's count.
	NumCPU int
}

// Output is the spec plus what the engine, not the runtime, acts on.
type Output struct {
	Spec        *specs.Spec
	StopSignal  string        // Config's, else the image's, else "SIGTERM"
	StopTimeout time.Duration // Config.StopTimeout, else 10 s; negative waits forever
}

// Build turns in into an OCI runtime spec. Bad input is an error naming the
// field and wrapping errdefs.ErrInvalidArgument.
func Build(in Input) (*Output, error) {
	if in.Config == nil || in.HostConfig == nil {
		return nil, invalid("Input", errors.New("Config and HostConfig are required"))
	}
	if in.ID == "" || in.Rootfs == "" {
		return nil, invalid("Input", errors.New("ID and Rootfs are required"))
	}
	s := &specs.Spec{
		Version:     OCIVersion,
		Root:        &specs.Root{Path: in.Rootfs, Readonly: in.HostConfig.ReadonlyRootfs},
		Hostname:    hostname(in),
		Domainname:  in.Config.Domainname,
		Annotations: annotations(in),
		Process:     &specs.Process{},
		Linux: &specs.Linux{
			CgroupsPath: cgroupsPath(in),
			Sysctl:      maps.Clone(in.HostConfig.Sysctls),
			Resources:   &specs.LinuxResources{},
		},
	}
	steps := []func(Input, *specs.Spec) error{
		setProcess, setNamespaces, setMounts, setResources, setDevices, setSecurity,
	}
	for _, step := range steps {
		if err := step(in, s); err != nil {
			return nil, err
		}
	}
	return &Output{Spec: s, StopSignal: stopSignal(in), StopTimeout: stopTimeout(in)}, nil
}

// invalid names the offending field and marks the error as bad input.
func invalid(field string, err error) error {
	return fmt.Errorf("%s: %w: %w", field, err, errdefs.ErrInvalidArgument)
}

func hostname(in Input) string {
	if m := in.HostConfig.UTSMode; m.IsHost() || strings.HasPrefix(string(m), "container:") {
		return "" // the host's or the other container's name, untouched
	}
	if in.Config.Hostname != "" {
		return in.Config.Hostname
	}
	return shortID(in.ID)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// annotations carries the image's labels, overridden by the container's,
// then HostConfig.Annotations, so hooks and runtimes can see them.
func annotations(in Input) map[string]string {
	out := map[string]string{}
	if in.Image != nil {
		maps.Copy(out, in.Image.Config.Labels)
	}
	maps.Copy(out, in.Config.Labels)
	maps.Copy(out, in.HostConfig.Annotations)
	if len(out) == 0 {
		return nil
	}
	return out
}

func cgroupsPath(in Input) string {
	parent := in.HostConfig.CgroupParent
	if parent == "" {
		parent = in.CgroupParent
	}
	if parent == "" {
		parent = DefaultCgroupParent
	}
	return path.Join("/", parent, in.ID)
}

func stopSignal(in Input) string {
	if in.Config.StopSignal != "" {
		return in.Config.StopSignal
	}
	if in.Image != nil && in.Image.Config.StopSignal != "" {
		return in.Image.Config.StopSignal
	}
	return "SIGTERM"
}

func stopTimeout(in Input) time.Duration {
	if in.Config.StopTimeout != nil {
		return time.Duration(*in.Config.StopTimeout) * time.Second
	}
	return defaultStopTimeout
}

// imageConfig is the image's runtime config, empty when there is no image.
func imageConfig(in Input) v1.Config {
	if in.Image == nil {
		return v1.Config{}
	}
	return in.Image.Config
}
