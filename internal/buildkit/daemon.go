package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	ctdsnapshot "github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay"
	"github.com/moby/buildkit/cache/remotecache"
	inlineremotecache "github.com/moby/buildkit/cache/remotecache/inline"
	localremotecache "github.com/moby/buildkit/cache/remotecache/local"
	registryremotecache "github.com/moby/buildkit/cache/remotecache/registry"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/executor/oci"
	"github.com/moby/buildkit/frontend"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/gateway"
	"github.com/moby/buildkit/frontend/gateway/forwarder"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/bboltcachestorage"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/network/netproviders"
	"github.com/moby/buildkit/util/resolver"
	bkversion "github.com/moby/buildkit/version"
	"github.com/moby/buildkit/worker"
	"github.com/moby/buildkit/worker/base"
	"github.com/moby/buildkit/worker/runc"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"

	"github.com/pier-engine/pier/internal/cgroups"

	// BuildKit's gRPC codec for its vtproto messages.
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto"
)

// Config says where BuildKit keeps its state and what it builds with.
type Config struct {
	// Root is BuildKit's state directory (<pierd root>/buildkit).
	Root string
	// Runtime is the runc-compatible binary RUN steps run through
	// (bin/pier-runtime).
	Runtime string
	// Store is pierd's private socket onto pier's image store: FROM
	// takes the images pier has from it, and the moby exporter puts its
	// results into it (registry.go, store.go).
	Store string
	// V2History records version-2 builds (POST /build?version=2) in
	// BuildKit's build history too. Off by default: the record (a
	// provenance document, the progress log as a blob, two database
	// updates) costs ~100 ms of every build, and the clients that send
	// version-2 builds (docker CLI 20.10, SDKs) never read it. Builds
	// through buildx are always recorded (`docker buildx history`).
	V2History bool
	// Entitlements are what a build may ask for with --allow
	// ("network.host", "security.insecure"); nil is network.host alone,
	// as dockerd grants without a daemon.json saying otherwise.
	Entitlements []string
	// GCPolicy is the cache's automatic collection: nil is pier's
	// default (gcPolicy), empty is none.
	GCPolicy []client.PruneInfo
}

// entitlements are cfg's, checked against the ones BuildKit knows.
func (cfg Config) entitlements() ([]string, error) {
	if cfg.Entitlements == nil {
		return []string{string(entitlements.EntitlementNetworkHost)}, nil
	}
	for _, e := range cfg.Entitlements {
		switch entitlements.Entitlement(e) {
		case entitlements.EntitlementNetworkHost, entitlements.EntitlementSecurityInsecure:
		default:
			return nil, fmt.Errorf("buildkit: entitlement %q: want network.host or security.insecure", e)
		}
	}
	return cfg.Entitlements, nil
}

// contentDir is where BuildKit's runc worker (runc.NewWorkerOpt) keeps
// its content store under the state directory.
func contentDir(root string) string { return filepath.Join(root, "runc-overlayfs", "content") }

// Daemon is a started BuildKit: its controller, registered on a gRPC
// server, and the session manager the controller reads sessions from.
type Daemon struct {
	Sessions *session.Manager
	GRPC     *grpc.Server
	ctrl     *control.Controller
	worker   *base.Worker
	// cgroupParent holds the RUN steps' cgroups.
	cgroupParent string
	// root is BuildKit's state directory.
	root string
	// CacheDiscarded says the build cache was thrown away at start: its
	// databases had been written unsynced in an earlier boot (dbsync.go).
	CacheDiscarded bool
}

// Start builds the worker and the controller. It is what Lazy calls on
// the first build.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	if cfg.Root == "" || cfg.Runtime == "" || cfg.Store == "" {
		return nil, fmt.Errorf("buildkit: Root, Runtime and Store are required")
	}
	ents, err := cfg.entitlements()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, fmt.Errorf("buildkit root %s: %w", cfg.Root, err)
	}
	sm, err := session.NewManager()
	if err != nil {
		return nil, fmt.Errorf("buildkit session manager: %w", err)
	}
	w, discarded, err := newWorker(ctx, cfg)
	if err != nil {
		return nil, err
	}
	wc := &worker.Controller{}
	if err := wc.Add(&pierWorker{Worker: w, images: storeImages{client: storeClient(cfg.Store), content: contentDir(cfg.Root)}}); err != nil {
		return nil, fmt.Errorf("buildkit worker: %w", err)
	}
	ctrl, err := newController(ctx, cfg.Root, ents, sm, wc, w)
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(grpcerrors.UnaryServerInterceptor),
		grpc.StreamInterceptor(grpcerrors.StreamServerInterceptor),
		grpc.MaxRecvMsgSize(defaults.DefaultMaxRecvMsgSize),
		grpc.MaxSendMsgSize(defaults.DefaultMaxSendMsgSize),
	)
	ctrl.Register(srv)
	return &Daemon{Sessions: sm, GRPC: srv, ctrl: ctrl, worker: w, cgroupParent: cgroupParent(cfg.Root), root: cfg.Root,
		CacheDiscarded: discarded}, nil
}

// Close stops the controller and the gRPC server, and removes the
// cgroup parent of RUN steps (pier-runtime removes each step's own).
func (d *Daemon) Close() error {
	d.GRPC.Stop()
	err := d.ctrl.Close()
	if err == nil {
		// Every database closed: sync them, then drop the mark.
		err = markSynced(d.root)
	}
	// BuildKit puts each step at <parent>/buildkit/<id>.
	for _, p := range []string{d.cgroupParent + "/buildkit", d.cgroupParent} {
		if m, cerr := cgroups.New(cgroups.Config{Path: "/" + p}); cerr == nil {
			if cerr := m.Destroy(); cerr != nil && err == nil {
				err = fmt.Errorf("remove cgroup %s: %w", p, cerr)
			}
		}
	}
	return err
}

// cgroupParent is where RUN steps' cgroups go: under pier's parent, one
// per pierd root, so that pierds never touch each other's (BuildKit's own
// default, /buildkit, is outside pier's).
func cgroupParent(root string) string {
	sum := sha256.Sum256([]byte(root))
	return cgroups.Parent + "/buildkit-" + hex.EncodeToString(sum[:6])
}

// newWorker makes the OCI worker; discarded says an unclean shutdown
// in an earlier boot cost the build cache (dbsync.go).
func newWorker(ctx context.Context, cfg Config) (w *base.Worker, discarded bool, err error) {
	if err := sweepCrash(cfg.Root); err != nil {
		return nil, false, err
	}
	if discarded, err = recoverUnsynced(cfg.Root); err != nil {
		return nil, false, err
	}
	if err := markUnsynced(cfg.Root); err != nil {
		return nil, false, err
	}
	sn := runc.SnapshotterFactory{
		Name: "overlayfs",
		New: func(root string) (ctdsnapshot.Snapshotter, error) {
			return overlay.NewSnapshotter(root, overlay.AsynchronousRemove)
		},
	}
	// BuildKit's providers (host, none) with pier's per-step namespaces
	// as the default (network.go); host only with the network.host
	// entitlement.
	nopt := netproviders.Opt{Mode: "host"}
	opt, err := runc.NewWorkerOpt(cfg.Root, sn, false, oci.ProcessSandbox, nil, nil, nopt, nil,
		cfg.Runtime, "", false, nil, "", cgroupParent(cfg.Root), nil)
	if err != nil {
		return nil, false, fmt.Errorf("buildkit worker: %w", err)
	}
	cm, _ := opt.ContentMetadata.(*boltutil.DB)
	md, _ := opt.MetadataStore.DB().(*boltutil.DB)
	relaxSync(cm, md)
	if err := useOwnNetwork(&opt, cfg.Root); err != nil {
		return nil, false, err
	}
	opt.BuildkitVersion = client.BuildkitVersion{Package: bkversion.Package, Version: bkversion.Version, Revision: bkversion.Revision}
	opt.RegistryHosts = storeHosts(resolver.NewRegistryConfig(nil), storeClient(cfg.Store))
	opt.GCPolicy = cfg.GCPolicy
	if opt.GCPolicy == nil {
		opt.GCPolicy = gcPolicy()
	}
	w, err = base.NewWorker(ctx, opt)
	if err != nil {
		_ = opt.NetworkProviders[pb.NetMode_UNSET].Close()
		return nil, false, fmt.Errorf("buildkit worker: %w", err)
	}
	return w, discarded, nil
}

// gcPolicy keeps the build cache under 2 GB; BuildKit prunes the oldest
// unused records past that.
func gcPolicy() []client.PruneInfo {
	return []client.PruneInfo{{MaxUsedSpace: 2 << 30}}
}

func newController(ctx context.Context, root string, ents []string, sm *session.Manager, wc *worker.Controller, w *base.Worker) (*control.Controller, error) {
	frontends := map[string]frontend.Frontend{
		"dockerfile.v0": forwarder.NewGatewayForwarder(wc.Infos(), dockerfile.Build),
	}
	gw, err := gateway.NewGatewayFrontend(wc.Infos(), nil)
	if err != nil {
		return nil, fmt.Errorf("buildkit gateway frontend: %w", err)
	}
	frontends["gateway.v0"] = gw

	cacheStorage, err := bboltcachestorage.NewStore(filepath.Join(root, "cache.db"))
	if err != nil {
		return nil, fmt.Errorf("buildkit cache db: %w", err)
	}
	historyDB, err := boltutil.SafeOpen(filepath.Join(root, "history.db"), 0o600,
		&bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true, NoSync: true}) // dbsync.go
	if err != nil {
		return nil, fmt.Errorf("buildkit history db: %w", err)
	}
	hosts := resolver.NewRegistryConfig(nil)
	return control.NewController(control.Opt{
		SessionManager:   sm,
		WorkerController: wc,
		Frontends:        frontends,
		ResolveCacheExporterFuncs: map[string]remotecache.ResolveCacheExporterFunc{
			"registry": registryremotecache.ResolveCacheExporterFunc(sm, hosts),
			"local":    localremotecache.ResolveCacheExporterFunc(sm),
			"inline":   inlineremotecache.ResolveCacheExporterFunc(),
		},
		ResolveCacheImporterFuncs: map[string]remotecache.ResolveCacheImporterFunc{
			"registry": registryremotecache.ResolveCacheImporterFunc(sm, w.ContentStore(), hosts),
			"local":    localremotecache.ResolveCacheImporterFunc(sm),
		},
		CacheManager: solver.NewCacheManager(ctx, "local", cacheStorage, worker.NewCacheResultStorage(wc)),
		HistoryDB:    historyDB,
		CacheStore:   cacheStorage,
		// As dockerd: a build may ask for the host's network (buildx
		// --allow network.host) unless daemon.json says no; without
		// asking, RUN gets its own. security.insecure only when
		// daemon.json grants it.
		Entitlements:   ents,
		LeaseManager:   w.LeaseManager(),
		ContentStore:   w.ContentStore(),
		GarbageCollect: w.GarbageCollect,
	})
}
