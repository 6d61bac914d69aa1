package main

import (
	"context"
	"io"
	"path/filepath"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/system"
	"github.com/sirupsen/logrus"

	"github.com/pier-engine/pier/internal/buildkit"
	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/server"
)

// newBuildKit wires BuildKit (started on the first build) over the
// daemon's image store and runtime; its state is <root>/buildkit.
func newBuildKit(ctx context.Context, d *daemon.Daemon, root string, debug bool) *buildkit.Lazy {
	// BuildKit logs through logrus; pierd's own log is the JSON one.
	if !debug {
		logrus.SetOutput(io.Discard)
	}
	return buildkit.NewLazy(ctx, buildkit.Config{
		Root:    filepath.Join(root, "buildkit"),
		Runtime: d.RuntimePath(),
		Images:  d.ImageStore(),
	})
}

// buildKitBackend is the API's view of BuildKit: /grpc, /session and
// POST /build?version=2.
type buildKitBackend struct{ *buildkit.Lazy }

func (b buildKitBackend) BuildV2(ctx context.Context, req server.BuildKitRequest, trace func([]byte)) (string, error) {
	return b.Lazy.Build(ctx, buildkit.BuildRequest{
		SessionID: req.SessionID, BuildID: req.BuildID, Tags: req.Tags,
		Dockerfile: req.Dockerfile, Target: req.Target, Platform: req.Platform, Network: req.Network,
		BuildArgs: req.BuildArgs, Labels: req.Labels, CacheFrom: req.CacheFrom, ExtraHosts: req.ExtraHost,
		NoCache: req.NoCache, Pull: req.Pull,
	}, trace)
}

// CancelBuild stops a version-2 build (POST /build/cancel).
func (b buildKitBackend) CancelBuild(id string) { b.Lazy.Cancel(id) }

// buildPrune is the classic builder's POST /build/prune with BuildKit's
// cache pruned too, so that `docker builder prune` without buildx (CLI
// 20.10, CLI 28 with DOCKER_BUILDKIT=0) reaches it as with dockerd.
type buildPrune struct {
	*buildBackend
	bk *buildkit.Lazy
}

func (b buildPrune) BuildPrune(ctx context.Context, all bool) (build.CachePruneReport, error) {
	rep, err := b.buildBackend.BuildPrune(ctx, all)
	if err != nil {
		return rep, err
	}
	ids, size, err := b.bk.Prune(ctx, buildkit.PruneOptions{All: all})
	rep.CachesDeleted = append(rep.CachesDeleted, ids...)
	rep.SpaceReclaimed += uint64(size)
	return rep, err
}

// diskUsage adds BuildKit's cache records to the daemon's /system/df.
type diskUsage struct {
	server.DiskUsageBackend
	bk *buildkit.Lazy
}

func (du diskUsage) SystemDF(ctx context.Context) (system.DiskUsage, error) {
	out, err := du.DiskUsageBackend.SystemDF(ctx)
	if err != nil {
		return out, err
	}
	recs, err := du.bk.DiskUsage(ctx)
	if err != nil {
		return out, err
	}
	if out.BuildCacheUsage == nil {
		out.BuildCacheUsage = &build.DiskUsage{}
	}
	u := out.BuildCacheUsage
	for _, r := range recs {
		u.Items = append(u.Items, build.CacheRecord{ID: r.ID, Type: r.Type, Description: r.Description,
			Parents: r.Parents, InUse: r.InUse, Shared: r.Shared, Size: r.Size, CreatedAt: r.CreatedAt,
			LastUsedAt: r.LastUsedAt, UsageCount: r.UsageCount})
		u.TotalSize += r.Size
		if r.InUse {
			u.ActiveCount++
		} else {
			u.Reclaimable += r.Size
		}
	}
	return out, nil
}
