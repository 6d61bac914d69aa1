package daemon

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/mount"
	apivolume "github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/volume"
)

// VolumeCreate makes a local volume, or returns the one of that name as
// dockerd does.
func (d *Daemon) VolumeCreate(ctx context.Context, req apivolume.CreateRequest) (apivolume.Volume, error) {
	if req.ClusterVolumeSpec != nil {
		return apivolume.Volume{}, fmt.Errorf("cluster volume %s: pier has no swarm: %w", req.Name, errdefs.ErrNotImplemented)
	}
	if err := volume.CheckDriver(req.Driver); err != nil {
		return apivolume.Volume{}, err
	}
	v, err := d.volumes.Create(req.Name, req.Labels, req.DriverOpts)
	if err != nil {
		return apivolume.Volume{}, err
	}
	d.emitVolume("create", v.Name)
	return v.ToAPI(), nil
}

// VolumeList returns the volumes filters select, by name.
func (d *Daemon) VolumeList(ctx context.Context, filters map[string][]string) (apivolume.ListResponse, error) {
	f, err := volume.ParseFilter(filters)
	if err != nil {
		return apivolume.ListResponse{}, err
	}
	f.InUse = d.volumeInUse
	vols, err := d.volumes.List(f)
	if err != nil {
		return apivolume.ListResponse{}, err
	}
	out := apivolume.ListResponse{Volumes: make([]apivolume.Volume, 0, len(vols))}
	for _, v := range vols {
		out.Volumes = append(out.Volumes, v.ToAPI())
	}
	return out, nil
}

// VolumeInspect returns the volume called name.
func (d *Daemon) VolumeInspect(ctx context.Context, name string) (apivolume.Volume, error) {
	v, err := d.volumes.Get(name)
	if err != nil {
		return apivolume.Volume{}, err
	}
	return v.ToAPI(), nil
}

// VolumeRemove deletes a volume no container uses; force makes a missing
// one no error (it never removes a volume in use, as in Docker).
func (d *Daemon) VolumeRemove(ctx context.Context, name string, force bool) error {
	return d.volumes.Remove(name, force, d.volumeInUse)
}

// VolumePrune removes the unused volumes filters select: anonymous ones
// unless filters has all=true.
func (d *Daemon) VolumePrune(ctx context.Context, filters map[string][]string) (apivolume.PruneReport, error) {
	f, err := volume.ParsePruneFilter(filters)
	if err != nil {
		return apivolume.PruneReport{}, err
	}
	removed, space, err := d.volumes.Prune(d.volumeInUse, f)
	for _, n := range removed {
		d.emitVolume("destroy", n)
	}
	// A prune that stopped half-way still removed what it names.
	return apivolume.PruneReport{VolumesDeleted: removed, SpaceReclaimed: space}, err
}

// volumeInUse reports whether a container, running or not, mounts the
// volume (as in Docker, a container's mounts keep its volumes), through a
// bind whose source is a name ("vol:/data") or a volume mount. When the
// records cannot be read the answer is yes, so nothing is removed blind.
func (d *Daemon) volumeInUse(name string) bool {
	recs, err := d.containerRecords()
	if err != nil {
		return true
	}
	for _, r := range recs {
		if r.HostConfig == nil {
			continue
		}
		for _, n := range r.AnonVolumes {
			if n == name {
				return true
			}
		}
		for _, b := range r.HostConfig.Binds {
			if src, _, ok := strings.Cut(b, ":"); ok && src == name {
				return true
			}
		}
		for _, m := range r.HostConfig.Mounts {
			if m.Type == mount.TypeVolume && m.Source == name {
				return true
			}
		}
	}
	return false
}
