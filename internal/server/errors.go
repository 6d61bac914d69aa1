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
	}
	return http.StatusInternalServerError
}

// writeError sends err as Docker's error body, {"message": "..."}.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	writeJSON(w, status, common.ErrorResponse{Message: err.Error()})
}

// kindError is an error whose text is exactly what the client should
// print (dockerd's wording) while it still carries a kind for StatusOf.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status line is sent: an encoding error can only be a broken
	// connection, which there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
}
