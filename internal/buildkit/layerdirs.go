package buildkit

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/moby/buildkit/cache"
	cacheconfig "github.com/moby/buildkit/cache/config"
	"github.com/moby/buildkit/session"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// layerDirs names, for the layers of ref that pier's store lacks (want),
// the directory of the committed overlay snapshot each was made in: the
// upper directory of the step, which holds exactly the layer's changes in
// overlay form. pier's store hard-links those files (and the blob) instead
// of copying and unpacking the blob (image.LayerFiles).
//
// It is best effort: a layer it cannot name surely is left out, and pier
// unpacks that one from its blob. A layer is named only when BuildKit's
// snapshot chain is the image's layer chain (the mount of layer i has
// exactly i+1 directories), which holds for every step built on the one
// before; merged and diffed results (COPY --link) are left out.
//
// The mounts of new layers are cached from computing their blobs, so
// naming them costs no snapshotter call; others cost a view each, which
// is why only the missing ones are asked for.
func layerDirs(ctx context.Context, ref cache.ImmutableRef, refCfg cacheconfig.RefConfig, layers []ocispecs.Descriptor, want map[string]bool, g session.Group) map[string]string {
	if ref == nil || len(want) == 0 {
		return nil
	}
	// The chain's blobs must be the manifest's layers, in order.
	remotes, err := ref.GetRemotes(ctx, false, refCfg, false, g)
	if err != nil || len(remotes) == 0 || len(remotes[0].Descriptors) != len(layers) {
		return nil
	}
	for i, d := range remotes[0].Descriptors {
		if d.Digest != layers[i].Digest {
			return nil
		}
	}
	chain := ref.LayerChain()
	defer chain.Release(context.WithoutCancel(ctx))
	if len(chain) != len(layers) {
		return nil
	}
	out := map[string]string{}
	for i, r := range chain {
		d := layers[i].Digest.String()
		if !want[d] {
			continue
		}
		if dir, ok := snapshotDir(ctx, r, i, g); ok {
			out[d] = dir
		}
	}
	return out
}

// snapshotDir is the own directory of ref, layer i of its chain.
func snapshotDir(ctx context.Context, ref cache.ImmutableRef, i int, g session.Group) (string, bool) {
	dirs, ok := refDirs(ctx, ref, g)
	if !ok || len(dirs) != i+1 {
		return "", false
	}
	return dirs[i], true
}

// refDirs lists the layer directories of ref's snapshot, bottom first.
func refDirs(ctx context.Context, ref cache.ImmutableRef, g session.Group) ([]string, bool) {
	if err := ref.Finalize(ctx); err != nil {
		return nil, false
	}
	m, err := ref.Mount(ctx, true, g)
	if err != nil {
		return nil, false
	}
	mounts, release, err := m.Mount()
	if err != nil {
		return nil, false
	}
	defer release()
	return mountDirs(mounts)
}

// mountDirs lists the layer directories of a snapshot's mount, bottom
// first: one bind mount (a layer alone, or a view of one), or an overlay
// of lower (and upper) directories.
func mountDirs(mounts []mount.Mount) ([]string, bool) {
	if len(mounts) != 1 {
		return nil, false
	}
	m := mounts[0]
	switch m.Type {
	case "bind", "rbind":
		return []string{filepath.Clean(m.Source)}, true
	case "overlay":
	default:
		return nil, false
	}
	var lower []string
	upper := ""
	for _, o := range m.Options {
		if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
			lower = strings.Split(v, ":")
		} else if v, ok := strings.CutPrefix(o, "upperdir="); ok {
			upper = v
		}
	}
	if len(lower) == 0 {
		return nil, false
	}
	out := make([]string, 0, len(lower)+1)
	for j := len(lower) - 1; j >= 0; j-- {
		out = append(out, filepath.Clean(lower[j]))
	}
	if upper != "" {
		out = append(out, filepath.Clean(upper))
	}
	return out, true
}
