package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
)

// AuthBackend is what POST /auth needs from the engine.
//
// RegistryLogin records cfg's credentials for the daemon's pulls and
// pushes. pier's extension: empty credentials remove the entry of
// cfg.ServerAddress (pier logout), since the API has no logout.
type AuthBackend interface {
	RegistryLogin(ctx context.Context, cfg registry.AuthConfig) (registry.AuthResponse, error)
}

// authRouter serves POST /auth (docker login).
type authRouter struct{ b AuthBackend }

func (ar authRouter) routes() []route {
	return []route{{"POST /auth", ar.postAuth}}
}

func (ar authRouter) postAuth(w http.ResponseWriter, r *http.Request) error {
	var cfg registry.AuthConfig
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
		return fmt.Errorf("auth body: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	resp, err := ar.b.RegistryLogin(r.Context(), cfg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}
