package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/moby/moby/api/types/common"

	"github.com/pier-engine/pier/internal/errdefs"
)

// StatusOf is the one place where an error's kind becomes an HTTP status.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, errdefs.ErrTooLarge), isMaxBytes(err):
		// First: a cut body also fails the handler's decoding, which it
		// reports as invalid.
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errdefs.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errdefs.ErrAlreadyExists), errors.Is(err, errdefs.ErrConflict),
		errors.Is(err, errdefs.ErrNotRunning):
		// dockerd answers "container is not running" with 409 too.
		return http.StatusConflict
	case errors.Is(err, errdefs.ErrInvalidArgument):
		return http.StatusBadRequest
	case errors.Is(err, errdefs.ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, errdefs.ErrUnauthorized):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// writeError sends err as Docker's error body, {"message": "..."}, with
// the status of its kind. Handlers return their errors to the adapter
// (Server.handle), which calls this; only the middleware in front of the
// routes calls it directly.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	writeJSON(w, status, common.ErrorResponse{Message: err.Error()})
}

// writeJSON sends v as the response with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status line is sent: an encoding error can only be a broken
	// connection, which there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
	return nil
}

// writeJSONBody writes v after the status line has gone out.
func writeJSONBody(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// notFound answers a path no route takes, as dockerd does.
func notFound(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
}
