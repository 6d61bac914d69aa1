package server

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/pier-engine/pier/internal/trace"
)

// A router serves the routes of one resource (containers, images, ...)
// over the backend it was built with. New registers the routers whose
// backend the Config has; a route's handler returns its error, and the
// adapter (Server.handle) is the one place that writes it.
type router interface {
	routes() []route
}

// route is one pattern of http.ServeMux ("POST /containers/{id}/start")
// and its handler.
type route struct {
	pattern string
	handler handlerFunc
}

// handlerFunc handles a request and returns what went wrong. It writes
// the response only on success; an error returned before anything was
// written becomes the error response. A handler that has started its
// response (a stream, a hijacked connection) reports later failures in
// the stream's own way, and what it still returns is only logged.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to net/http: it writes h's error as Docker's error
// response, or logs it when the response was already under way.
func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w}
		if trace.On() { // PIER_TRACE: each request's span in the start timeline
			trace.Mark("api", r.Pattern+" in")
			defer trace.Mark("api", r.Pattern+" out")
		}
		err := h(rw, r)
		var abort *abortError
		switch {
		case err == nil:
		case rw.started && !rw.hijacked && errors.As(err, &abort):
			s.log.Error("request aborted", "method", r.Method, "path", r.URL.Path, "err", err)
			panic(http.ErrAbortHandler) // net/http closes the connection
		case rw.hijacked || rw.started:
			// A hijacked stream has ended its own way (the client went,
			// detached, or read the error on its stderr).
			level := slog.LevelWarn
			if rw.hijacked || errors.Is(err, context.Canceled) {
				level = slog.LevelDebug
			}
			s.log.Log(r.Context(), level, "request after response started",
				"method", r.Method, "path", r.URL.Path, "err", err)
		default:
			s.writeError(w, r, err)
		}
	}
}

// abortResponse marks an error after the response started that must cut
// the connection, so that the client sees a failure rather than a short
// body it could take for whole (a truncated image tar).
func abortResponse(err error) error { return &abortError{err} }

type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

// responseWriter notes whether the response has started, so that the
// adapter never writes an error over a sent status line.
type responseWriter struct {
	http.ResponseWriter
	started, hijacked bool
}

func (w *responseWriter) WriteHeader(status int) {
	w.started = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

// Flush sends what is buffered; streams flush after each message.
func (w *responseWriter) Flush() {
	w.started = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (attach, exec start).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, buf, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, buf, err
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
