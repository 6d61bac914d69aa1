package main

import (
	"context"

	"github.com/moby/moby/api/types/build"

	"github.com/pier-engine/pier/internal/buildkit"
	"github.com/pier-engine/pier/internal/server"
)

// service is BuildKit as the private API serves it to pierd.
type service struct{ *buildkit.Lazy }

var _ server.BuildKitService = service{}

func (s service) BuildV2(ctx context.Context, req server.BuildKitRequest, trace func([]byte)) (string, error) {
	return s.Lazy.Build(ctx, buildkit.BuildRequest{
		SessionID: req.SessionID, BuildID: req.BuildID, Tags: req.Tags,
		Dockerfile: req.Dockerfile, Target: req.Target, Platform: req.Platform, Network: req.Network,
		BuildArgs: req.BuildArgs, Labels: req.Labels, CacheFrom: req.CacheFrom, ExtraHosts: req.ExtraHost,
		NoCache: req.NoCache, Pull: req.Pull,
	}, trace)
}

func (s service) DiskUsage(ctx context.Context) ([]build.CacheRecord, error) {
	recs, err := s.Lazy.DiskUsage(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]build.CacheRecord, 0, len(recs))
	for _, r := range recs {
		out = append(out, build.CacheRecord{ID: r.ID, Type: r.Type, Description: r.Description,
			Parents: r.Parents, InUse: r.InUse, Shared: r.Shared, Size: r.Size, CreatedAt: r.CreatedAt,
			LastUsedAt: r.LastUsedAt, UsageCount: r.UsageCount})
	}
	return out, nil
}

func (s service) PruneCache(ctx context.Context, all bool, keepStorage int64) ([]string, int64, error) {
	return s.Lazy.Prune(ctx, buildkit.PruneOptions{All: all, KeepStorage: keepStorage})
}

func (s service) CancelBuild(id string) { s.Lazy.Cancel(id) }
