package daemon

import (
	"context"
	"errors"
	"maps"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/pier-engine/pier/internal/errdefs"
)

// anonVolumes makes the anonymous volumes a new container gets, as dockerd
// does: one for each Config.Volumes and image VOLUME target that no bind
// or mount already covers, and one for each volume mount without a source
// (Compose sends those). It returns a copy of host with them as volume
// mounts, for the spec only (the record keeps what the client sent), and
// target -> volume name for the record. undo removes what it made.
func (d *Daemon) anonVolumes(cfg *container.Config, host *container.HostConfig, img *v1.ConfigFile) (*container.HostConfig, map[string]string, func(), error) {
	made := map[string]string{}
	undo := func() {
		for _, name := range made {
			_ = d.volumes.Remove(name, true, func(string) bool { return false })
		}
	}
	covered := map[string]bool{}
	for _, b := range host.Binds {
		if dst, ok := bindTarget(b); ok {
			covered[dst] = true
		}
	}
	out := *host
	out.Mounts = slices.Clone(host.Mounts)
	for _, m := range host.Mounts {
		covered[path.Clean(m.Target)] = true
	}
	from, err := d.volumesFrom(host, covered)
	if err != nil {
		return nil, nil, func() {}, err
	}
	out.Mounts = append(out.Mounts, from...)
	for i, m := range out.Mounts {
		covered[path.Clean(m.Target)] = true
		if m.Type != mount.TypeVolume || m.Source != "" {
			continue
		}
		v, err := d.volumes.Create("", nil, nil)
		if err != nil {
			undo()
			return nil, nil, func() {}, err
		}
		made[path.Clean(m.Target)] = v.Name
		out.Mounts[i].Source = v.Name
	}
	targets := slices.Collect(maps.Keys(cfg.Volumes))
	if img != nil {
		// An image's VOLUME is a path in the image even when written
		// relative ("name:/foo" is one), as dockerd takes it.
		for t := range img.Config.Volumes {
			targets = append(targets, path.Join("/", t))
		}
	}
	slices.Sort(targets)
	for _, t := range slices.Compact(targets) {
		if !path.IsAbs(t) {
			undo()
			return nil, nil, func() {}, errdefs.Newf(errdefs.ErrInvalidArgument, "Config.Volumes: invalid mount config: %q is not an absolute path", t)
		}
		t = path.Clean(t)
		if covered[t] {
			continue
		}
		covered[t] = true
		v, err := d.volumes.Create("", nil, nil)
		if err != nil {
			undo()
			return nil, nil, func() {}, err
		}
		made[t] = v.Name
		out.Mounts = append(out.Mounts, mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: t})
	}
	for _, name := range made {
		d.emitVolume("create", name)
	}
	if len(made) == 0 {
		made = nil
	}
	return &out, made, undo, nil
}

// bindTarget is the container path of a Binds entry "src:dst[:opts]".
func bindTarget(b string) (string, bool) {
	parts := strings.Split(b, ":")
	if len(parts) < 2 {
		return "", false
	}
	return path.Clean(parts[1]), true
}

// mountPoints is inspect's and ps's .Mounts: binds, volumes and the
// anonymous volumes, as dockerd describes them.
func (d *Daemon) mountPoints(r containerRecord) []container.MountPoint {
	out := []container.MountPoint{}
	if r.HostConfig == nil {
		return out
	}
	for _, b := range r.HostConfig.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			continue
		}
		mode := ""
		if len(parts) > 2 {
			mode = parts[2]
		}
		rw := !slices.Contains(strings.Split(mode, ","), "ro")
		if path.IsAbs(parts[0]) {
			out = append(out, container.MountPoint{Type: mount.TypeBind, Source: parts[0], Destination: path.Clean(parts[1]),
				Mode: mode, RW: rw, Propagation: mount.PropagationRPrivate})
			continue
		}
		if mode == "" {
			mode = "z" // dockerd's default mode of a named volume bind
		}
		out = append(out, d.volumeMountPoint(parts[0], parts[1], mode, rw))
	}
	for _, m := range r.HostConfig.Mounts {
		switch m.Type {
		case mount.TypeBind:
			prop := mount.PropagationRPrivate
			if m.BindOptions != nil && m.BindOptions.Propagation != "" {
				prop = m.BindOptions.Propagation
			}
			out = append(out, container.MountPoint{Type: mount.TypeBind, Source: m.Source, Destination: path.Clean(m.Target),
				RW: !m.ReadOnly, Propagation: prop})
		case mount.TypeVolume:
			if m.Source == "" {
				continue // an anonymous one, listed below with its name
			}
			out = append(out, d.volumeMountPoint(m.Source, m.Target, "", !m.ReadOnly))
		case mount.TypeTmpfs:
			out = append(out, container.MountPoint{Type: mount.TypeTmpfs, Destination: path.Clean(m.Target), RW: !m.ReadOnly})
		}
	}
	for _, t := range slices.Sorted(maps.Keys(r.AnonVolumes)) {
		out = append(out, d.volumeMountPoint(r.AnonVolumes[t], t, "", true))
	}
	return out
}

func (d *Daemon) volumeMountPoint(name, target, mode string, rw bool) container.MountPoint {
	mp := container.MountPoint{Type: mount.TypeVolume, Name: name, Destination: path.Clean(target),
		Driver: "local", Mode: mode, RW: rw}
	if v, err := d.volumes.Get(name); err == nil {
		mp.Source = v.Mountpoint
	}
	return mp
}

// ContainerDelete is DELETE /containers/{id}: ContainerRemove, then with
// removeVolumes (v=1) the container's anonymous volumes (named ones stay, as in
// dockerd), and with RemoveLinks only the legacy link alias.
func (d *Daemon) ContainerDelete(ctx context.Context, ref string, force, removeVolumes, removeLink bool) error {
	if removeLink {
		return d.removeLink(ref)
	}
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if err := d.ContainerRemove(ctx, r.ID, force); err != nil {
		return err
	}
	if removeVolumes {
		d.removeAnonVolumes(r)
	}
	return nil
}

// removeAnonVolumes removes r's anonymous volumes that no other container
// uses; one still in use stays, as in dockerd.
func (d *Daemon) removeAnonVolumes(r containerRecord) {
	for _, name := range r.AnonVolumes {
		err := d.volumes.Remove(name, false, d.volumeInUse)
		switch {
		case err == nil:
			d.emitVolume("destroy", name)
		case !errors.Is(err, errdefs.ErrNotFound):
			d.log.Warn("remove anonymous volume", "container_id", r.ID, "volume", name, "err", err)
		}
	}
}

// inspectHostConfig is h as inspect shows it: the runtime's name filled
// in when the client named none, as dockerd shows its default.
func inspectHostConfig(h *container.HostConfig) *container.HostConfig {
	if h == nil || h.Runtime != "" {
		return h
	}
	c := *h
	c.Runtime = RuntimeName
	return &c
}

// volumesFrom is HostConfig.VolumesFrom ("container[:ro|rw]") as mounts:
// the other container's binds and volumes at the same paths, read-only
// with ro, else as the other container has them. Paths the new container
// mounts itself (covered) keep its own.
func (d *Daemon) volumesFrom(host *container.HostConfig, covered map[string]bool) ([]mount.Mount, error) {
	var out []mount.Mount
	for _, spec := range host.VolumesFrom {
		name, mode, _ := strings.Cut(spec, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			return nil, errdefs.Newf(errdefs.ErrInvalidArgument, "HostConfig.VolumesFrom: invalid mode %q in %q", mode, spec)
		}
		r, err := d.lookup(name)
		if err != nil {
			return nil, err
		}
		for _, mp := range d.mountPoints(r) {
			if covered[mp.Destination] || (mp.Type != mount.TypeBind && mp.Type != mount.TypeVolume) {
				continue
			}
			src := mp.Source
			if mp.Type == mount.TypeVolume {
				src = mp.Name
			}
			covered[mp.Destination] = true
			out = append(out, mount.Mount{Type: mp.Type, Source: src, Target: mp.Destination,
				ReadOnly: mode == "ro" || (mode == "" && !mp.RW)})
		}
	}
	return out, nil
}
