package main

import (
	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/daemon/network"
	"github.com/pier-engine/pier/internal/server"
)

// The daemon implements every backend the API's routers take: renaming
// or changing a daemon method breaks this build, not a route at run time.
var (
	_ server.SystemBackend    = (*daemon.Daemon)(nil)
	_ server.DiskUsageBackend = (*daemon.Daemon)(nil)
	_ server.ContainerBackend = (*daemon.Daemon)(nil)
	_ server.ExecBackend      = (*daemon.Daemon)(nil)
	_ server.ImageBackend     = (*daemon.Daemon)(nil)
	_ server.AuthBackend      = (*daemon.Daemon)(nil)
	_ server.NetworkBackend   = (*network.Controller)(nil) // the daemon's Networks()
	_ server.VolumeBackend    = (*daemon.Daemon)(nil)
	_ server.EventBackend     = (*daemon.Daemon)(nil)
	// The builder joins the daemon in buildBackend (build.go).
	_ server.BuildBackend = (*buildBackend)(nil)
)
