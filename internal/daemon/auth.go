package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

// defaultRegistry is the key docker login uses for Docker Hub.
const defaultRegistry = "https://index.docker.io/v1/"

// authFile is the daemon's Docker-style config.json: pulls and pushes
// read their credentials from it, login and logout edit it.
func (d *Daemon) authFile() string {
	return filepath.Join(d.cfg.Root, "auth.json")
}

// RegistryLogin records cfg's credentials for its registry, so that the
// daemon's pulls and pushes use them. Unlike dockerd it does not check
// them against the registry first: a wrong password shows at the next
// pull. Empty credentials remove the registry's entry (pier logout).
func (d *Daemon) RegistryLogin(ctx context.Context, cfg registry.AuthConfig) (registry.AuthResponse, error) {
	server := cfg.ServerAddress
	if server == "" {
		server = defaultRegistry
	}
	if cfg.Username == "" && cfg.Password == "" {
		if err := removeCredentials(d.authFile(), server); err != nil {
			return registry.AuthResponse{}, err
		}
		return registry.AuthResponse{Status: "Removing login credentials for " + server}, nil
	}
	if cfg.Username == "" || cfg.Password == "" {
		return registry.AuthResponse{}, fmt.Errorf("login %s: username and password are required: %w", server, errdefs.ErrInvalidArgument)
	}
	if err := image.SaveCredentials(d.authFile(), registryKey(server), cfg.Username, cfg.Password); err != nil {
		return registry.AuthResponse{}, fmt.Errorf("login %s: %w", server, err)
	}
	return registry.AuthResponse{Status: "Login Succeeded"}, nil
}

// removeCredentials drops server's entry from the config.json at path,
// keeping everything else; a registry without an entry is not an error.
func removeCredentials(path, server string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout %s: %w", server, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("logout %s: parse %s: %w", server, path, err)
	}
	auths := map[string]json.RawMessage{}
	if a, ok := raw["auths"]; ok {
		if err := json.Unmarshal(a, &auths); err != nil {
			return fmt.Errorf("logout %s: parse %s: %w", server, path, err)
		}
	}
	key := registryKey(server)
	for _, k := range []string{server, key, "https://" + key, "http://" + key, defaultRegistry} {
		if k == defaultRegistry && key != "index.docker.io" {
			continue
		}
		delete(auths, k)
	}
	if raw["auths"], err = json.Marshal(auths); err != nil {
		return err
	}
	out, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, out, 0o600); err != nil {
		return fmt.Errorf("logout %s: %w", server, err)
	}
	return nil
}

// registryKey is the auths key for server: its host, Docker Hub's by the
// name the image store looks up.
func registryKey(server string) string {
	key := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	key = strings.TrimSuffix(key, "/")
	switch key {
	case "index.docker.io/v1", "docker.io", "registry-1.docker.io":
		return "index.docker.io"
	}
	return key
}
