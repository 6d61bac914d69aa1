package server

import (
	"net/http"
)

// getContainerExport sends the container's filesystem as a tar.
func (cr *containerRouter) getContainerExport(w http.ResponseWriter, r *http.Request) error {
	tw := &lazyWriter{w: w, contentType: "application/x-tar"}
	err := cr.b.ContainerExport(r.Context(), r.PathValue("id"), tw)
	if err == nil {
		tw.start()
	}
	// After the first byte the status line is sent: the adapter logs
	// the error and the client sees a short tar.
	return err
}

// lazyWriter sends the status line and Content-Type with the first
// write, so that an error before it is still an ordinary error response.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) start() {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", l.contentType)
		l.w.WriteHeader(http.StatusOK)
	}
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.start()
	return l.w.Write(p)
}
