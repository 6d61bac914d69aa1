package daemon

import (
	"context"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/registry"
)

// authFile is the daemon-wide fallback credentials: a Docker-style
// config.json ({"auths": {"host:port": {"auth": base64(user:pass)}}})
// that the administrator writes. Pulls and pushes use it only for a
// registry the request brought no credentials for (X-Registry-Auth);
// pierd never writes it, so a client's login is never shared with the
// socket's other users.
func (d *Daemon) authFile() string {
	return filepath.Join(d.cfg.Root, "auth.json")
}

// RegistryLogin is POST /auth: it checks cfg's credentials with the
// registry (its token service or basic challenge) and stores nothing, as
// dockerd does; the client keeps them and sends them with each request.
// Refused credentials are an errdefs.ErrUnauthorized with the registry's
// message.
func (d *Daemon) RegistryLogin(ctx context.Context, cfg registry.AuthConfig) (registry.AuthResponse, error) {
	cred := authn.AuthConfig{
		Username:      cfg.Username,
		Password:      cfg.Password,
		Auth:          cfg.Auth,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
	}
	if err := d.images.CheckLogin(ctx, cfg.ServerAddress, cred); err != nil {
		return registry.AuthResponse{}, err
	}
	return registry.AuthResponse{Status: "Login Succeeded"}, nil
}
