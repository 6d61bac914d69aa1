package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/system"

	"github.com/pier-engine/pier/internal/buildkitd"
	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/server"
)

// buildKitExe is BuildKit's process, which pierd starts on the first
// build (internal/buildkitd).
const buildKitExe = "pier-buildkitd"

// buildKitIdle is how long pier-buildkitd stays without a connection
// before pierd stops it (its cache stays on disk; the next build starts
// it again in about a second); PIER_BUILDKIT_IDLE_TIMEOUT (a Go
// duration, 0 for never) overrides it.
const buildKitIdle = 10 * time.Minute

func buildKitIdleTimeout(log *slog.Logger) time.Duration {
	v := os.Getenv("PIER_BUILDKIT_IDLE_TIMEOUT")
	if v == "" {
		return buildKitIdle
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		log.Warn("PIER_BUILDKIT_IDLE_TIMEOUT is not a duration; using the default", "value", v, "default", buildKitIdle.String())
		return buildKitIdle
	}
	return d
}

// newBuildKit wires BuildKit, run by pier-buildkitd on the first build,
// over the daemon's image store and runtime; its state is
// <root>/buildkit, its sockets are in <root>/buildkitd. Without
// pier-buildkitd, pierd serves the classic builder alone (nil).
func newBuildKit(d *daemon.Daemon, root string, debug bool, log *slog.Logger) (*buildKit, error) {
	exe := findBuildKitExe()
	if exe == "" {
		log.Warn("no pier-buildkitd beside pierd nor in $PATH: BuildKit (buildx, version-2 builds) is off")
		return nil, nil
	}
	sup, err := buildkitd.New(buildkitd.Config{
		Exe:          exe,
		Root:         filepath.Join(root, "buildkit"),
		RunDir:       filepath.Join(root, "buildkitd"),
		Runtime:      d.RuntimePath(),
		Images:       d.ImageStore(),
		IdleTimeout:  buildKitIdleTimeout(log),
		Entitlements: builderEntitlements(d.Builder()),
		GC:           builderGC(d.Builder()),
		Debug:        debug,
		Stderr:       os.Stderr,
		Log:          log,
	})
	if err != nil {
		return nil, err
	}
	return &buildKit{BuildKitProxy: server.BuildKitProxy{Dial: sup.Dial}, sup: sup}, nil
}

// builderEntitlements are what daemon.json's builder.entitlements grant,
// as dockerd reads them: network.host unless refused, security.insecure
// only when granted.
func builderEntitlements(b daemon.BuilderConfig) []string {
	host, insecure := b.Entitlements.Granted()
	out := []string{}
	if host {
		out = append(out, "network.host")
	}
	if insecure {
		out = append(out, "security.insecure")
	}
	return out
}

// builderGC is daemon.json's builder.gc for pier-buildkitd
// (defaultKeepStorage is dockerd's old name of defaultReservedSpace).
func builderGC(b daemon.BuilderConfig) buildkitd.GC {
	g := buildkitd.GC{
		ReservedSpace: int64(b.GC.DefaultReservedSpace),
		MaxUsedSpace:  int64(b.GC.DefaultMaxUsedSpace),
		MinFreeSpace:  int64(b.GC.DefaultMinFreeSpace),
	}
	if b.GC.DefaultKeepStorage != 0 {
		g.ReservedSpace = int64(b.GC.DefaultKeepStorage)
	}
	g.Off = b.GC.Enabled != nil && !*b.GC.Enabled
	return g
}

// findBuildKitExe is pier-buildkitd beside pierd (as `make build` lays
// them out), else $PATH's, else "".
func findBuildKitExe() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), buildKitExe)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(buildKitExe); err == nil {
		return p
	}
	return ""
}

// buildKit is the proxy to pier-buildkitd, and its supervisor.
type buildKit struct {
	server.BuildKitProxy
	sup *buildkitd.Supervisor
}

// Close stops pier-buildkitd if it runs.
func (bk *buildKit) Close() error { return bk.sup.Close() }

// buildKitBackend is the API's view of BuildKit: /grpc, /session, POST
// /build?version=2 and /build/cancel, all forwarded to pier-buildkitd.
type buildKitBackend struct{ *buildKit }

// CancelBuild stops a version-2 build (POST /build/cancel); with no
// pier-buildkitd running there is none to stop, and none is started.
func (b buildKitBackend) CancelBuild(id string) {
	if b.sup.Started() {
		b.BuildKitProxy.CancelBuild(id)
	}
}

// buildPrune is the classic builder's POST /build/prune with BuildKit's
// cache pruned too, so that `docker builder prune` without buildx (CLI
// 20.10, CLI 28 with DOCKER_BUILDKIT=0) reaches it as with dockerd. A
// BuildKit that never ran has nothing to prune and is not started.
type buildPrune struct {
	*buildBackend
	bk *buildKit
}

func (b buildPrune) BuildPrune(ctx context.Context, all bool) (build.CachePruneReport, error) {
	rep, err := b.buildBackend.BuildPrune(ctx, all)
	if err != nil || !b.bk.sup.HasState() {
		return rep, err
	}
	ids, size, err := b.bk.PruneCache(ctx, all, 0)
	rep.CachesDeleted = append(rep.CachesDeleted, ids...)
	rep.SpaceReclaimed += uint64(size)
	return rep, err
}

// diskUsage adds BuildKit's cache records to the daemon's /system/df. A
// BuildKit that never ran (no state on disk) has none, and is not
// started to say so; one with a cache from an earlier pierd is.
type diskUsage struct {
	server.DiskUsageBackend
	bk *buildKit
}

func (du diskUsage) SystemDF(ctx context.Context) (system.DiskUsage, error) {
	out, err := du.DiskUsageBackend.SystemDF(ctx)
	if err != nil || !du.bk.sup.HasState() {
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
		u.Items = append(u.Items, r)
		u.TotalSize += r.Size
		if r.InUse {
			u.ActiveCount++
		} else {
			u.Reclaimable += r.Size
		}
	}
	return out, nil
}
