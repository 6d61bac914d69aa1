package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// StatsBackend is what /containers/{id}/stats and /update need from the
// engine; the container backend provides it when it implements it.
type StatsBackend interface {
	// ContainerStats calls fn with one snapshot, or with stream one a
	// second until ctx ends or the container stops.
	ContainerStats(ctx context.Context, ref string, stream bool, fn func(container.StatsResponse) error) error
	// ContainerUpdate changes the container's resource limits.
	ContainerUpdate(ctx context.Context, ref string, u container.UpdateConfig) (container.UpdateResponse, error)
}

func (s *Server) statsRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(StatsBackend)
	if !ok {
		return
	}
	mux.HandleFunc("GET /containers/{id}/stats", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		stream := q.Get("stream") != "0" && q.Get("stream") != "false" && q.Get("one-shot") != "1" && q.Get("one-shot") != "true"
		started := false
		err := b.ContainerStats(r.Context(), r.PathValue("id"), stream, func(st container.StatsResponse) error {
			if !started {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				started = true
			}
			if err := json.NewEncoder(w).Encode(st); err != nil {
				return err
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			return nil
		})
		if err != nil && !started {
			s.writeError(w, r, err)
		}
	})
	mux.HandleFunc("POST /containers/{id}/update", func(w http.ResponseWriter, r *http.Request) {
		var u container.UpdateConfig
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			s.writeError(w, r, &kindError{"invalid update body: " + err.Error(), errdefs.ErrInvalidArgument})
			return
		}
		resp, err := b.ContainerUpdate(r.Context(), r.PathValue("id"), u)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}
