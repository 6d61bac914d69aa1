package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/sys"
)

// copyUpTargets lists the volumes of r that get the image's content at
// their target, target -> volume name: its anonymous volumes and the
// named volumes not mounted with nocopy or a subpath, as dockerd copies
// them.
func copyUpTargets(r containerRecord) map[string]string {
	out := map[string]string{}
	for t, name := range r.AnonVolumes {
		out[t] = name
	}
	if r.HostConfig == nil {
		return out
	}
	for _, b := range r.HostConfig.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || path.IsAbs(parts[0]) {
			continue
		}
		if len(parts) > 2 && slices.Contains(strings.Split(parts[2], ","), "nocopy") {
			continue
		}
		out[path.Clean(parts[1])] = parts[0]
	}
	for _, m := range r.HostConfig.Mounts {
		if m.Type != mount.TypeVolume || m.Source == "" {
			continue
		}
		if o := m.VolumeOptions; o != nil && (o.NoCopy || o.Subpath != "") {
			continue
		}
		out[path.Clean(m.Target)] = m.Source
	}
	return out
}

// populateVolumes copies what the image holds at each volume's target
// into the volume when the volume is empty, owner and mode of the
// directory included, as dockerd does when it creates a container: a
// VOLUME's content is there when the container starts, and what a
// build's RUN writes under a VOLUME goes to the volume, not the layer.
// rootfs is the container's mounted root; nothing outside it is read.
func (d *Daemon) populateVolumes(ctx context.Context, r containerRecord, rootfs string) error {
	for target, name := range copyUpTargets(r) {
		if err := d.copyUp(ctx, rootfs, target, name); err != nil {
			return fmt.Errorf("container %s: volume %s at %s: %w", r.ID, name, target, err)
		}
	}
	return nil
}

func (d *Daemon) copyUp(ctx context.Context, rootfs, target, name string) error {
	root, err := os.OpenRoot(rootfs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no rootfs mounted (the daemon's unit tests)
	}
	if err != nil {
		return err
	}
	defer root.Close()
	rel := strings.TrimPrefix(path.Clean("/"+target), "/")
	if rel == "" {
		rel = "."
	}
	fi, err := root.Stat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("cannot mount volume over existing file, file exists %s", path.Join(rootfs, target))
	}
	dst, err := d.volumePath(name)
	if err != nil {
		return err
	}
	if ents, err := os.ReadDir(dst); err != nil || len(ents) > 0 {
		return err // not empty: the volume keeps its data
	}
	src, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer src.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive.Tar(pw, sys.FdPath(src))) }()
	err = archive.Extract(ctx, pr, dst, archive.Options{Whiteouts: archive.WhiteoutApply})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return err
	}
	if uid, gid, ok := sys.Owner(fi); ok {
		if err := os.Lchown(dst, int(uid), int(gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dst, fi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid))
}
