package daemon

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/snapshot"
)

// imageVolumes mounts the image volumes cfg asks for (Mount.image): each
// image's layers, read-only, under <root>/cri/imagevols/<key>, and returns
// a copy of cfg whose mounts bind those directories (or their
// image_sub_path) read-only, and the volumes made. On an error nothing
// stays mounted.
func (c *CRI) imageVolumes(cfg *runtimeapi.ContainerConfig) (_ *runtimeapi.ContainerConfig, vols []pod.ImageVolume, err error) {
	has := false
	for _, m := range cfg.GetMounts() {
		has = has || m.GetImage() != nil
	}
	if !has {
		return cfg, nil, nil
	}
	defer func() {
		if err != nil {
			c.removeImageVolumes(vols)
			vols = nil
		}
	}()
	out := proto.Clone(cfg).(*runtimeapi.ContainerConfig)
	for _, m := range out.GetMounts() {
		if m.GetImage() == nil {
			continue
		}
		v, err := c.imageVolume(m)
		if v.Dir != "" {
			vols = append(vols, v)
		}
		if err != nil {
			return nil, vols, err
		}
	}
	return out, vols, nil
}

// imageVolume mounts one image volume and points m at it.
func (c *CRI) imageVolume(m *runtimeapi.Mount) (pod.ImageVolume, error) {
	const field = "config.mounts.image"
	v := pod.ImageVolume{ContainerPath: m.GetContainerPath(), Image: m.GetImage().GetImage()}
	if !m.GetReadonly() {
		return v, fmt.Errorf("%s %s on %s: an image volume must be readonly: %w", field, v.Image, v.ContainerPath, errdefs.ErrInvalidArgument)
	}
	sub := m.GetImageSubPath()
	if sub != "" && (path.IsAbs(sub) || strings.HasPrefix(path.Clean(sub), "..")) {
		return v, fmt.Errorf("config.mounts.image_sub_path %q: must be relative and inside the image: %w", sub, errdefs.ErrInvalidArgument)
	}
	img, err := c.d.images.Get(v.Image)
	if err != nil {
		return v, fmt.Errorf("%s %s: %w", field, v.Image, err)
	}
	v.ImageRef = img.ID
	dir := c.d.criDir("imagevols", newContainerID())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return v, fmt.Errorf("%s %s: %w", field, v.Image, err)
	}
	v.Dir = dir
	if err := c.d.images.Snapshots().MountReadOnly(img.TopChainID(), dir); err != nil {
		return v, fmt.Errorf("%s %s: %w", field, v.Image, err)
	}
	v.Mounted = true
	host := dir
	if sub != "" {
		host = filepath.Join(dir, path.Clean(sub))
		if _, err := os.Lstat(host); err != nil {
			return v, fmt.Errorf("config.mounts.image_sub_path %q: not in image %s: %w", sub, v.Image, errdefs.ErrInvalidArgument)
		}
	}
	m.HostPath, m.Image, m.ImageSubPath = host, nil, ""
	return v, nil
}

// removeImageVolumes unmounts and removes image volumes.
func (c *CRI) removeImageVolumes(vols []pod.ImageVolume) error {
	var errs []error
	for _, v := range vols {
		if v.Mounted {
			if err := snapshot.Unmount(v.Dir); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := os.Remove(v.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("image volume: %w", err))
		}
	}
	return errors.Join(errs...)
}

// imageVolumeUses says a CRI container has image id mounted as a volume:
// its layers must stay while the overlay stands on them.
func (d *Daemon) imageVolumeUses(id string) bool {
	ids, err := d.md.List(pod.ContainerKind)
	if err != nil {
		return true
	}
	for _, x := range ids {
		var rec pod.Container
		if d.md.Get(pod.ContainerKind, x, &rec) != nil {
			continue
		}
		for _, v := range rec.ImageVolumes {
			if v.ImageRef == id {
				return true
			}
		}
	}
	return false
}
