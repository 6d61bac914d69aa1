package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/monitor"
)

// CRIConfig is the "cri" section of daemon.json.
type CRIConfig struct {
	// Socket is the CRI's unix socket (default /run/pier/cri.sock).
	Socket string `json:"socket,omitempty"`
	// Disable turns the CRI server off.
	Disable bool `json:"disable,omitempty"`
	// StreamAddress is the host:port of the exec/attach/port-forward
	// server (default 127.0.0.1:0).
	StreamAddress string `json:"stream-address,omitempty"`
	// CNIConfDir and CNIBinDir: /etc/cni/net.d and /usr/lib/cni.
	CNIConfDir string `json:"cni-conf-dir,omitempty"`
	CNIBinDir  string `json:"cni-bin-dir,omitempty"`
	// RegistryMirrors maps a registry host to the mirrors tried in its
	// place, in order ("registry.k8s.io": ["http://127.0.0.1:5055"]); a
	// mirrored registry is never contacted itself.
	RegistryMirrors map[string][]string `json:"registry-mirrors,omitempty"`
}

// criLabel marks the engine's record of a container the CRI made: the
// Docker API does not list it, nor find it by name.
const criLabel = "io.pier.cri.pod"

// isCRI says r belongs to a pod of the CRI.
func isCRI(r containerRecord) bool {
	return r.Config != nil && r.Config.Labels[criLabel] != ""
}

// CRI is the engine side of the Kubernetes CRI: the methods internal/cri's
// Backend asks for, over this daemon's images, containers and networks.
type CRI struct {
	d   *Daemon
	cfg CRIConfig
	cni *pod.CNI
	// rates turns successive cpu readings into UsageNanoCores.
	rates cpuRates

	// mu serialises sandbox changes (run, stop, remove), which are rare.
	mu sync.Mutex
}

// NewCRI makes the CRI backend; it does not touch the network until the
// first sandbox.
func (d *Daemon) NewCRI(cfg CRIConfig) (*CRI, error) {
	if cfg.CNIConfDir == "" {
		cfg.CNIConfDir = pod.DefaultCNIConfDir
	}
	if cfg.CNIBinDir == "" {
		cfg.CNIBinDir = pod.DefaultCNIBinDir
	}
	for reg, ms := range cfg.RegistryMirrors {
		for _, m := range ms {
			if !strings.HasPrefix(m, "http://") && !strings.HasPrefix(m, "https://") {
				return nil, fmt.Errorf("cri.registry-mirrors[%s]: %q: want http:// or https://: %w", reg, m, errdefs.ErrInvalidArgument)
			}
		}
	}
	cacheDir := filepath.Join(d.cfg.Root, "cri", "cni-cache")
	for _, dir := range []string{cacheDir, d.criDir("netns"), d.criDir("pods")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("cri: %w", err)
		}
	}
	cni, err := pod.NewCNI(cfg.CNIConfDir, []string{cfg.CNIBinDir}, cacheDir)
	if err != nil {
		return nil, err
	}
	c := &CRI{d: d, cfg: cfg, cni: cni}
	c.adoptPods(context.Background())
	return c, nil
}

func (d *Daemon) criDir(sub ...string) string {
	return filepath.Join(append([]string{d.cfg.Root, "cri"}, sub...)...)
}

// criMonitorConfig sends a CRI container's log to the kubelet's path.
func (d *Daemon) criMonitorConfig(r containerRecord, cfg *monitor.Config) {
	if !isCRI(r) {
		return
	}
	var rec pod.Container
	if d.md.Get(pod.ContainerKind, r.ID, &rec) == nil && rec.LogPath != "" {
		cfg.LogPath = rec.LogPath
	}
}
