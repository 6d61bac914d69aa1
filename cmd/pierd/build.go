package main

import (
	"context"
	"io"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"

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

// BuildPrune forgets the step cache and removes the step images nothing
// else names (untagged, unused).
func (bb *buildBackend) BuildPrune(ctx context.Context, all bool) (build.CachePruneReport, error) {
	gone, err := bb.b.Cache().Prune(nil)
	rep := build.CachePruneReport{}
	for _, e := range gone {
		rep.CachesDeleted = append(rep.CachesDeleted, e.Key)
		if img, err := bb.d.ImageInspect(ctx, e.Image); err == nil && len(img.RepoTags) == 0 {
			_, _ = bb.d.ImageRemove(ctx, e.Image, false)
		}
	}
	return rep, err
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
