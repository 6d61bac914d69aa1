package daemon

import (
	"context"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/archive"
)

// ContainerChanges lists what the container changed in its image's
// files, as docker diff shows it (GET /containers/{id}/changes): its
// writable layer read against the image's layers.
func (d *Daemon) ContainerChanges(ctx context.Context, ref string) ([]container.FilesystemChange, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return nil, err
	}
	snaps := d.images.Snapshots()
	upper, err := snaps.UpperDir(r.ID)
	if err != nil {
		return nil, err
	}
	var lower []string
	if img, err := d.images.Get(r.Image); err == nil && img.TopChainID() != "" {
		if lower, err = snaps.Chain(img.TopChainID()); err != nil {
			return nil, err
		}
	}
	changes, err := archive.Upper{Dir: upper, Lower: lower, Skip: skipMountPoint(upper)}.Changes()
	if err != nil {
		return nil, err
	}
	out := make([]container.FilesystemChange, 0, len(changes))
	for _, c := range changes {
		out = append(out, container.FilesystemChange{Path: c.Path, Kind: container.ChangeType(c.Kind)})
	}
	return out, nil
}
