package daemon

import "github.com/pier-engine/pier/internal/image"

// ImageStore is the daemon's image store, for BuildKit's exporter, which
// writes built images straight into it.
func (d *Daemon) ImageStore() *image.Store { return d.images }

// RuntimePath is the resolved path of pier-runtime, which BuildKit's
// executor runs RUN steps through.
func (d *Daemon) RuntimePath() string { return d.runtime }

// Builder is daemon.json's "builder" key (zero when absent): BuildKit's
// entitlements and cache collection.
func (d *Daemon) Builder() BuilderConfig {
	if d.cfg.Builder == nil {
		return BuilderConfig{}
	}
	return *d.cfg.Builder
}
