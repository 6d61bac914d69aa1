package main

import (
	"context"
	"io"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/pier-engine/pier/internal/buildkit"
	"github.com/pier-engine/pier/internal/daemon"
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
