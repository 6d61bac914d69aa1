package main

import (
	"context"
	"io"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"

	"github.com/pier-engine/pier/internal/builder"
	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/server"
)

// buildBackend joins the builder and the daemon behind the API's build
// routes: the builder runs Dockerfiles through the daemon's BuildEngine,
// the daemon commits and diffs containers.
type buildBackend struct {
	b *builder.Builder
	d *daemon.Daemon
}

func newBuildBackend(ctx context.Context, d *daemon.Daemon, root string) (*buildBackend, error) {
	b, err := builder.New(d.BuildEngine(ctx), filepath.Join(root, "build"), filepath.Join(root, "tmp"))
	if err != nil {
		return nil, err
	}
	return &buildBackend{b: b, d: d}, nil
}

func (bb *buildBackend) Build(ctx context.Context, r io.Reader, opts builder.Options) (string, error) {
	return bb.b.Build(ctx, r, opts)
}

// SyncContext starts a synced context's sync (pier's CLI).
func (bb *buildBackend) SyncContext(ctx context.Context, req builder.SyncRequest) (builder.SyncReply, error) {
	return bb.b.Contexts().Diff(req)
}

// BuildPrune removes the step images that are cache only (untagged, no
// container made from them) and forgets their records (with all, every
// record); SpaceReclaimed is what /system/df called reclaimable.
func (bb *buildBackend) BuildPrune(ctx context.Context, all bool) (build.CachePruneReport, error) {
	entries, err := bb.entries()
	if err != nil {
		return build.CachePruneReport{}, err
	}
	forget, freed, err := bb.d.BuildCachePrune(ctx, entries, all)
	if err != nil {
		return build.CachePruneReport{}, err
	}
	gone, err := bb.b.Cache().Prune(func(e builder.Entry) bool { return !forget[e.Key] })
	// The synced contexts of pier's CLI go too (those no build uses now).
	_, synced := bb.b.Contexts().Prune()
	rep := build.CachePruneReport{SpaceReclaimed: uint64(freed + synced)}
	for _, e := range gone {
		rep.CachesDeleted = append(rep.CachesDeleted, e.Key)
	}
	return rep, err
}

func (bb *buildBackend) entries() ([]daemon.BuildCacheEntry, error) {
	ents, err := bb.b.Cache().Entries()
	if err != nil {
		return nil, err
	}
	out := make([]daemon.BuildCacheEntry, len(ents))
	for i, e := range ents {
		out[i] = daemon.BuildCacheEntry{Key: e.Key, Image: e.Image}
	}
	return out, nil
}

// classicDiskUsage adds the classic builder's step cache to /system/df's
// BuildCache.
type classicDiskUsage struct {
	server.DiskUsageBackend
	bb *buildBackend
}

func (du classicDiskUsage) SystemDF(ctx context.Context) (system.DiskUsage, error) {
	out, err := du.DiskUsageBackend.SystemDF(ctx)
	if err != nil {
		return out, err
	}
	entries, err := du.bb.entries()
	if err != nil {
		return out, err
	}
	u, err := du.bb.d.BuildCacheUsage(ctx, entries)
	if err != nil {
		return out, err
	}
	if out.BuildCacheUsage != nil {
		u.Items = append(out.BuildCacheUsage.Items, u.Items...)
		u.TotalCount += out.BuildCacheUsage.TotalCount
		u.TotalSize += out.BuildCacheUsage.TotalSize
		u.ActiveCount += out.BuildCacheUsage.ActiveCount
		u.Reclaimable += out.BuildCacheUsage.Reclaimable
	}
	out.BuildCacheUsage = u
	return out, nil
}

func (bb *buildBackend) ContainerCommit(ctx context.Context, req server.CommitRequest) (string, error) {
	opts := daemon.CommitOptions{Reference: req.Reference, Author: req.Author, Comment: req.Comment,
		Pause: req.Pause, Config: req.Config}
	if len(req.Changes) > 0 {
		opts.Change = func(c *v1.Config) error { return builder.ApplyChanges(c, req.Changes) }
	}
	return bb.d.ContainerCommit(ctx, req.Container, opts)
}

func (bb *buildBackend) ContainerChanges(ctx context.Context, ref string) ([]container.FilesystemChange, error) {
	return bb.d.ContainerChanges(ctx, ref)
}
