package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
)

// AuthBackend is what POST /auth needs from the engine.
//
// RegistryLogin checks cfg's credentials with the registry, as dockerd
// does, and stores nothing: the client keeps them and sends them with
// each pull and push (X-Registry-Auth). Refused credentials are an
// errdefs.ErrUnauthorized carrying the registry's message.
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

// withRegistryAuth gives the registry credentials a request carries to
// the image store through its context, for that request only: the
// X-Registry-Auth header (pull, push: one AuthConfig, base64url JSON,
// with a password, an identity token or a registry token) and
// X-Registry-Config (build: a map of them by registry). A malformed
// header is a 400; an empty one ("e30=", {}) carries nothing.
func withRegistryAuth(next http.Handler, s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		creds, err := requestCredentials(r.Header)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(creds) > 0 {
			r = r.WithContext(imagestore.WithCredentials(r.Context(), creds))
		}
		next.ServeHTTP(w, r)
	})
}

// requestCredentials decodes a request's credential headers into the
// store's terms, keyed by the registry they are for ("" when the client
// did not say).
func requestCredentials(h http.Header) ([]imagestore.Credential, error) {
	var out []imagestore.Credential
	if v := h.Get(registry.AuthHeader); v != "" {
		var cfg registry.AuthConfig
		if err := decodeAuthHeader(v, &cfg); err != nil {
			return nil, fmt.Errorf("%s header: %w: %w", registry.AuthHeader, err, errdefs.ErrInvalidArgument)
		}
		if c := credential(cfg); !c.Empty() {
			out = append(out, c)
		}
	}
	if v := h.Get("X-Registry-Config"); v != "" {
		var cfgs map[string]registry.AuthConfig
		if err := decodeAuthHeader(v, &cfgs); err != nil {
			return nil, fmt.Errorf("X-Registry-Config header: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		for server, cfg := range cfgs {
			if cfg.ServerAddress == "" {
				cfg.ServerAddress = server
			}
			if c := credential(cfg); !c.Empty() {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func credential(cfg registry.AuthConfig) imagestore.Credential {
	return imagestore.Credential{
		Server: cfg.ServerAddress,
		AuthConfig: authn.AuthConfig{
			Username:      cfg.Username,
			Password:      cfg.Password,
			Auth:          cfg.Auth,
			IdentityToken: cfg.IdentityToken,
			RegistryToken: cfg.RegistryToken,
		},
	}
}

// decodeAuthHeader reads base64url JSON as the docker CLI and the SDKs
// send it; padded or not, and standard base64 too, as dockerd accepts.
func decodeAuthHeader(v string, into any) error {
	v = strings.TrimRight(strings.TrimSpace(v), "=")
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(v); err != nil {
			return errors.New("not base64")
		}
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("not an auth config: %w", err)
	}
	return nil
}
