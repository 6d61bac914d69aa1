package main

import (
	"context"
	"io"
	"path/filepath"

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
