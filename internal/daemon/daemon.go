package daemon

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/system"

	"github.com/pier-engine/pier/internal/atomicfile"
	eventbus "github.com/pier-engine/pier/internal/daemon/events"
	"github.com/pier-engine/pier/internal/daemon/network"
	"github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/metadata"
	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/version"
	"github.com/pier-engine/pier/internal/volume"
)

// RuntimeName is the default runtime's name in /info.
const RuntimeName = "pier-runtime"

// Daemon is the engine behind the API.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	id      string
	hostFS  fs.FS
	runtime string // path of pier-runtime
	busybox string // the static busybox the default image is made from
	// seam reaches the OCI runtimes and starts monitors (runtime_seam.go).
	seam runtimeSeams

	// runtimeVersion asks pier-runtime for its version once.
	runtimeVersion func() string

	md *metadata.Store // the engine's records (volumes; containers next)
	// vmd holds the records a reboot may lose (health, paused), in the
	// exec root (execroot.go).
	vmd      *metadata.Store
	execRoot string
	images   *image.Store
	volumes  *volume.Store

	events *eventbus.Bus // what happened, for /events

	// Made on first use (execs), so a Daemon built by a test works.
	execsOnce sync.Once
	execTable *execTable

	// ctrMu serialises the choice of container names; pendingNames are
	// those chosen whose records are still being made.
	ctrMu        sync.Mutex
	pendingNames map[string]bool // Guarded by ctrMu.
	// ctrLocks serialise changes to one container's run.
	ctrLocks ctrLocks
	// health holds the healthcheck monitors of running containers, and
	// attaches the clients waiting for a container's start.
	health   healthTable
	attaches attachTable
	// exits holds the waiters of containers' next ends, by id.
	exitMu sync.Mutex
	exits  map[string]*exitWaiter // Guarded by exitMu.
	// ctrIndex knows each container's name without decoding its record.
	ctrIndex ctrIndex
	// removals counts the removed containers whose files are still being
	// deleted in the background (finishRemove).
	removals sync.WaitGroup
	// nets owns the networks and the containers' endpoints on them.
	nets *network.Controller
}

// New makes the daemon's root and reads or creates its engine ID.
func New(cfg Config, logger *slog.Logger) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := prepareRoot(cfg.Root); err != nil {
		return nil, err
	}
	id, err := engineID(filepath.Join(cfg.Root, "engine-id"))
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: logger, id: id, hostFS: os.DirFS("/"), runtime: findRuntime(cfg.Runtime), execRoot: cfg.execRoot(),
		busybox: cmp.Or(cfg.busybox, busyboxBinary), exits: map[string]*exitWaiter{}, events: eventbus.NewBus()}
	d.seam = runtimeSeams{newRuntime: hostRuntime, launch: hostLauncher{d}}
	d.runtimeVersion = sync.OnceValue(d.askRuntimeVersion)
	if err := d.openStores(); err != nil {
		return nil, err
	}
	d.nets.Restore()
	// Without it the daemon still serves every other image.
	if err := d.ensureBusybox(context.Background()); err != nil {
		logger.Warn("default busybox image", "image", busyboxRef, "err", err)
	}
	d.restartOnBoot()
	return d, nil
}

// openStores opens what the engine keeps under its root.
func (d *Daemon) openStores() (err error) {
	d.sweepTemps()
	if err := d.prepareExecRoot(); err != nil {
		return err
	}
	if d.md, err = metadata.Open(filepath.Join(d.cfg.Root, "metadata")); err != nil {
		return err
	}
	d.nets = d.newNetworks()
	if d.images, err = image.New(image.Config{Root: d.imageRoot(), AuthFile: d.authFile()}); err != nil {
		return err
	}
	if d.volumes, err = volume.New(d.cfg.Root, d.md); err != nil {
		return err
	}
	if err := d.sweepOrphans(); err != nil {
		return err
	}
	if err := d.adoptContainers(); err != nil {
		return err
	}
	d.healthResume()
	return nil
}

// engineID returns the ID kept in path, creating it on first start so
// that it survives restarts as dockerd's does.
func engineID(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read engine id: %w", err)
	}
	id := rand.Text()
	if err := atomicfile.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("engine id: %w", err)
	}
	return id, nil
}

// findRuntime resolves the configured runtime, or pier-runtime beside
// pierd's own executable (as `make build` lays them out), or $PATH's.
func findRuntime(configured string) string {
	if configured != "" {
		return configured
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), RuntimeName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(RuntimeName); err == nil {
		return p
	}
	return RuntimeName
}

// askRuntimeVersion runs `pier-runtime --version`, whose first line ends
// in the version; "" when it cannot be run.
func (d *Daemon) askRuntimeVersion() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := ociruntime.CLI{Name: RuntimeName, Path: d.runtime}.Version(ctx)
	if err != nil {
		d.log.Warn("runtime version", "path", d.runtime, "err", err)
		return ""
	}
	return v
}

// Version names pier and the runtime it drives.
func (d *Daemon) Version(ctx context.Context) (system.VersionResponse, error) {
	h := readHost(d.hostFS)
	v := system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "pier"},
		Version:       version.Version,
		Os:            "linux",
		Arch:          runtime.GOARCH,
		GitCommit:     version.GitCommit,
		GoVersion:     runtime.Version(),
		KernelVersion: h.kernel,
		Components: []system.ComponentVersion{{
			Name:    "Engine",
			Version: version.Version,
			Details: map[string]string{
				"GitCommit":     version.GitCommit,
				"GoVersion":     runtime.Version(),
				"Os":            "linux",
				"Arch":          runtime.GOARCH,
				"KernelVersion": h.kernel,
				"Experimental":  "false",
				"BuildTime":     "",
			},
		}},
	}
	if rv := d.runtimeVersion(); rv != "" {
		v.Components = append(v.Components, system.ComponentVersion{
			Name: RuntimeName, Version: rv, Details: map[string]string{"Path": d.runtime},
		})
	}
	return v, nil
}
