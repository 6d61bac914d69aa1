package daemon

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/container"
	imagetypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	apivolume "github.com/moby/moby/api/types/volume"
)

// SystemDF reports what images, containers and volumes take on disk
// (GET /system/df), in the API's newest shape; the server turns it into
// the older one clients of API < 1.52 read.
func (d *Daemon) SystemDF(ctx context.Context) (system.DiskUsage, error) {
	recs, err := d.containerRecords()
	if err != nil {
		return system.DiskUsage{}, err
	}
	imgs, err := d.imageUsage(recs)
	if err != nil {
		return system.DiskUsage{}, err
	}
	ctrs, err := d.containerUsage(ctx)
	if err != nil {
		return system.DiskUsage{}, err
	}
	vols, err := d.volumeUsage(ctx, recs)
	if err != nil {
		return system.DiskUsage{}, err
	}
	return system.DiskUsage{ImageUsage: imgs, ContainerUsage: ctrs, VolumeUsage: vols}, nil
}

// imageUsage counts each image's containers and the size of the layers
// it shares with other images; TotalSize counts every layer once.
func (d *Daemon) imageUsage(recs []containerRecord) (*imagetypes.DiskUsage, error) {
	imgs, err := d.images.List()
	if err != nil {
		return nil, err
	}
	users := map[string]int{} // chain id -> images
	sizes := map[string]int64{}
	for _, img := range imgs {
		for _, l := range img.Layers {
			users[l.ChainID]++
			sizes[l.ChainID] = l.Size
		}
	}
	u := &imagetypes.DiskUsage{Items: []imagetypes.Summary{}}
	for _, s := range sizes {
		u.TotalSize += s
	}
	for _, img := range imgs {
		cfg, err := d.images.Config(img)
		if err != nil {
			return nil, err
		}
		s := summary(img, cfg)
		s.Containers, s.SharedSize = 0, 0
		for _, r := range recs {
			if r.Image == img.ID {
				s.Containers++
			}
		}
		for _, l := range img.Layers {
			if users[l.ChainID] > 1 {
				s.SharedSize += l.Size
			}
		}
		u.TotalCount++
		if s.Containers > 0 {
			u.ActiveCount++
		} else {
			u.Reclaimable += s.Size - s.SharedSize
		}
		u.Items = append(u.Items, s)
	}
	return u, nil
}

// containerUsage sizes each container's writable layer.
func (d *Daemon) containerUsage(ctx context.Context) (*container.DiskUsage, error) {
	list, err := d.ContainerList(ctx, true, nil)
	if err != nil {
		return nil, err
	}
	u := &container.DiskUsage{Items: list}
	for i := range list {
		c := &list[i]
		c.SizeRw = d.upperSize(c.ID)
		u.TotalCount++
		u.TotalSize += c.SizeRw
		if c.State == container.StateRunning {
			u.ActiveCount++
		} else {
			u.Reclaimable += c.SizeRw
		}
	}
	return u, nil
}

// ContainerSize is ps --size's: the writable layer, and that plus the
// image's size.
func (d *Daemon) ContainerSize(ctx context.Context, id string) (int64, int64, error) {
	r, err := d.lookup(id)
	if err != nil {
		return 0, 0, err
	}
	rw := d.upperSize(r.ID)
	img, err := d.images.Get(r.Image)
	if err != nil {
		return rw, rw, nil // the image went (rmi -f): only the layer is known
	}
	return rw, rw + img.Size, nil
}

// upperSize is the size of container id's writable layer; 0 when unknown.
func (d *Daemon) upperSize(id string) int64 {
	dir, err := d.images.Snapshots().UpperDir(id)
	if err != nil {
		return 0
	}
	return dirSize(dir)
}

// volumeUsage sizes each volume and counts the containers that mount it.
func (d *Daemon) volumeUsage(ctx context.Context, recs []containerRecord) (*apivolume.DiskUsage, error) {
	list, err := d.VolumeList(ctx, nil)
	if err != nil {
		return nil, err
	}
	u := &apivolume.DiskUsage{Items: list.Volumes}
	for i := range list.Volumes {
		v := &list.Volumes[i]
		refs := int64(0)
		for _, r := range recs {
			if mountsVolume(r, v.Name) {
				refs++
			}
		}
		v.UsageData = &apivolume.UsageData{RefCount: refs, Size: dirSize(v.Mountpoint)}
		u.TotalCount++
		u.TotalSize += v.UsageData.Size
		if refs > 0 {
			u.ActiveCount++
		} else {
			u.Reclaimable += v.UsageData.Size
		}
	}
	return u, nil
}

// mountsVolume is volumeInUse's test for one record.
func mountsVolume(r containerRecord, name string) bool {
	if r.HostConfig == nil {
		return false
	}
	for _, b := range r.HostConfig.Binds {
		if src, _, ok := strings.Cut(b, ":"); ok && src == name {
			return true
		}
	}
	for _, m := range r.HostConfig.Mounts {
		if string(m.Type) == "volume" && m.Source == name {
			return true
		}
	}
	return false
}

// dirSize adds up the sizes of the regular files under dir; what cannot
// be read counts as nothing, as a size report is no place to fail.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
