package daemon

import "github.com/pier-engine/pier/internal/image"

// ImageStore is the daemon's image store, for BuildKit's exporter, which
// writes built images straight into it.
func (d *Daemon) ImageStore() *image.Store { return d.images }

// RuntimePath is the resolved path of pier-runtime, which BuildKit's
// executor runs RUN steps through.
func (d *Daemon) RuntimePath() string { return d.runtime }
