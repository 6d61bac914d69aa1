package daemon

import (
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/ociruntime"
)

// runtimeCLI resolves HostConfig.Runtime to a runtime binary and its
// state root: "" and "pier-runtime" are the default; runc and crun are
// taken from $PATH. Each runtime has its own root: runc's and crun's
// state files are not pier-runtime's.
func (d *Daemon) runtimeCLI(name string) (ociruntime.CLI, error) {
	if name == "" || name == RuntimeName {
		return ociruntime.CLI{Name: RuntimeName, Path: d.runtime, Root: d.runtimeRoot()}, nil
	}
	known := false
	for _, n := range otherRuntimes {
		known = known || n == name
	}
	if !known {
		return ociruntime.CLI{}, fmt.Errorf("unknown or invalid runtime name: %s: %w", name, errdefs.ErrInvalidArgument)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ociruntime.CLI{}, fmt.Errorf("runtime %s: not installed: %w", name, errdefs.ErrInvalidArgument)
	}
	return ociruntime.CLI{Name: name, Path: p, Root: filepath.Join(d.execRoot, "runtime-"+name)}, nil
}

// runtimeNamed is the seam to the runtime called name (runtime_seam.go).
func (d *Daemon) runtimeNamed(name string) (ociRuntime, error) {
	c, err := d.runtimeCLI(name)
	if err != nil {
		return nil, err
	}
	return d.seam.newRuntime(c), nil
}

// runtimeOf is the runtime of container id; a record that names none (or
// is gone) gets the default, which then reports the container unknown.
func (d *Daemon) runtimeOf(id string) ociRuntime {
	var r containerRecord
	if err := d.md.Get(containerKind, id, &r); err == nil && r.HostConfig != nil {
		if rt, err := d.runtimeNamed(r.HostConfig.Runtime); err == nil {
			return rt
		}
	}
	rt, _ := d.runtimeNamed("")
	return rt
}

// hostRuntime is h's runtime, checked at create so that a typo fails
// there and not at start.
func (d *Daemon) hostRuntime(h *container.HostConfig) error {
	_, err := d.runtimeCLI(h.Runtime)
	return err
}

// monitorBinary is pier-monitor, beside pier-runtime.
func (d *Daemon) monitorBinary() string {
	return filepath.Join(filepath.Dir(d.runtime), "pier-monitor")
}
