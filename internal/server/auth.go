package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
)

// AuthBackend is what POST /auth needs from the engine; the image backend
// provides it when it implements it.
//
// RegistryLogin records cfg's credentials for the daemon's pulls and
// pushes. pier's extension: empty credentials remove the entry of
// cfg.ServerAddress (pier logout), since the API has no logout.
type AuthBackend interface {
	RegistryLogin(ctx context.Context, cfg registry.AuthConfig) (registry.AuthResponse, error)
}

func (s *Server) authRoutes(mux *http.ServeMux) {
	b, ok := s.images.(AuthBackend)
	if !ok {
		return
	}
	mux.HandleFunc("POST /auth", func(w http.ResponseWriter, r *http.Request) {
		var cfg registry.AuthConfig
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			s.writeError(w, r, fmt.Errorf("auth body: %w: %w", err, errdefs.ErrInvalidArgument))
			return
		}
		resp, err := b.RegistryLogin(r.Context(), cfg)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}
