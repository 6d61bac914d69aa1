package server

import (
	"context"
	"io"
	"net/http"
)

// ExportBackend is what GET /containers/{id}/export needs from the engine;
// the container backend provides it when it implements it.
//
// ContainerExport writes the container's filesystem to w as a tar; it
// writes nothing when it fails before the first byte (an unknown
// container is errdefs.ErrNotFound).
type ExportBackend interface {
	ContainerExport(ctx context.Context, ref string, w io.Writer) error
}

func (s *Server) exportRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(ExportBackend)
	if !ok {
		return
	}
	mux.HandleFunc("GET /containers/{id}/export", func(w http.ResponseWriter, r *http.Request) {
		tw := &tarWriter{w: w}
		err := b.ContainerExport(r.Context(), r.PathValue("id"), tw)
		if err == nil {
			tw.start()
			return
		}
		if !tw.started {
			s.writeError(w, r, err)
			return
		}
		// The status line is sent: the client sees a truncated tar.
		s.log.Warn("export", "container_id", r.PathValue("id"), "err", err)
	})
}

// tarWriter sends the 200 and its headers with the first byte, so that
// an error before it can still be answered with its own status.
type tarWriter struct {
	w       http.ResponseWriter
	started bool
}

func (t *tarWriter) start() {
	if !t.started {
		t.started = true
		t.w.Header().Set("Content-Type", "application/x-tar")
		t.w.WriteHeader(http.StatusOK)
	}
}

func (t *tarWriter) Write(p []byte) (int, error) {
	t.start()
	return t.w.Write(p)
}
