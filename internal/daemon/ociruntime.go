package daemon

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// ociRuntime is the OCI runtime a container runs under. Each runtime has
// its own state root: runc's and crun's state files are not pier-runtime's.
type ociRuntime struct {
	name, path, root string
}

// runtimeNamed resolves HostConfig.Runtime: "" and "pier-runtime" are the
// default; runc and crun are taken from $PATH.
func (d *Daemon) runtimeNamed(name string) (ociRuntime, error) {
	if name == "" || name == RuntimeName {
		return ociRuntime{name: RuntimeName, path: d.runtime, root: d.runtimeRoot()}, nil
	}
	known := false
	for _, n := range otherRuntimes {
		known = known || n == name
	}
	if !known {
		return ociRuntime{}, fmt.Errorf("unknown or invalid runtime name: %s: %w", name, errdefs.ErrInvalidArgument)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ociRuntime{}, fmt.Errorf("runtime %s: not installed: %w", name, errdefs.ErrInvalidArgument)
	}
	return ociRuntime{name: name, path: p, root: filepath.Join(d.cfg.Root, "runtime-"+name)}, nil
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

// command is `runtime --root R args...`.
func (rt ociRuntime) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, rt.path, append([]string{"--root", rt.root}, args...)...)
}

// runtimeCmd runs args under container id's runtime.
func (d *Daemon) runtimeCmd(ctx context.Context, id string, args ...string) *exec.Cmd {
	return d.runtimeOf(id).command(ctx, args...)
}

// hostRuntime is h's runtime, checked at create so that a typo fails
// there and not at start.
func (d *Daemon) hostRuntime(h *container.HostConfig) error {
	_, err := d.runtimeNamed(h.Runtime)
	return err
}
