package buildkit

import (
	"fmt"

	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/worker/base"
)

// exporterMoby is the exporter buildx's docker driver asks for when it
// loads a result into the daemon (--load, and plain `docker build`).
const exporterMoby = "moby"

// pierWorker is BuildKit's OCI worker with one more exporter: "moby",
// which writes into pier's image store.
type pierWorker struct {
	*base.Worker
	images ImageStore
}

func (w *pierWorker) Exporter(name string, sm *session.Manager) (exporter.Exporter, error) {
	if name != exporterMoby {
		return w.Worker.Exporter(name, sm)
	}
	iw, err := containerimage.NewImageWriter(containerimage.WriterOpt{
		Snapshotter:  w.Worker.Snapshotter,
		ContentStore: w.Worker.ContentStore(),
		Applier:      w.Worker.Applier,
		Differ:       w.Worker.Differ,
	})
	if err != nil {
		return nil, fmt.Errorf("moby exporter: %w", err)
	}
	return &mobyExporter{writer: iw, content: w.Worker.ContentStore(), leases: w.Worker.LeaseManager(), images: w.images,
		sessions: sm, hosts: w.Worker.RegistryHosts}, nil
}
