package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/atomicfile"
)

// hubServer is the key docker login uses for Docker Hub.
const hubServer = "https://index.docker.io/v1/"

// The client keeps registry credentials, as the docker CLI does: login
// checks them through pierd (POST /auth) and stores them in the config
// directory's config.json (or its credential helper); pull and push send
// them with each request (X-Registry-Auth). pierd stores none, so one
// user's login is never another's.

// registryOf is the registry a reference names, by docker's rule: a first
// component with a dot, a colon or "localhost" is a host, otherwise the
// image is Docker Hub's. The result is the login key (hubServer for Hub).
func registryOf(ref string) string {
	first, _, found := strings.Cut(ref, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return hubServer
	}
	return first
}

// loginKey is the config.json key for a server given to login/logout.
func loginKey(server string) string {
	switch s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/"); s {
	case "", "docker.io", "index.docker.io", "index.docker.io/v1", "registry-1.docker.io":
		return hubServer
	default:
		return s
	}
}

// clientConfig is the part of docker's config.json credentials live in;
// the rest of the file is kept as it is when login rewrites it.
type clientConfig struct {
	Auths       map[string]registry.AuthConfig `json:"auths"`
	CredsStore  string                         `json:"credsStore,omitempty"`
	CredHelpers map[string]string              `json:"credHelpers,omitempty"`
}

func readClientConfig(dir string) (clientConfig, map[string]json.RawMessage, error) {
	var cfg clientConfig
	raw := map[string]json.RawMessage{}
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, raw, nil
	}
	if err != nil {
		return cfg, nil, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return cfg, nil, fmt.Errorf("parse %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, nil, fmt.Errorf("parse %s: %w", p, err)
	}
	return cfg, raw, nil
}

// helper is the credential helper config.json names for key, or "".
func (c clientConfig) helper(key string) string {
	if h := c.CredHelpers[strings.TrimPrefix(key, "https://")]; h != "" {
		return h
	}
	if h := c.CredHelpers[key]; h != "" {
		return h
	}
	return c.CredsStore
}

// registryAuth is the X-Registry-Auth value for ref: the stored
// credentials of its registry, or "" when there are none.
func (a *app) registryAuth(ctx context.Context, ref string) (string, error) {
	key := registryOf(ref)
	cfg, _, err := readClientConfig(a.conn.configDir)
	if err != nil {
		return "", err
	}
	var ac registry.AuthConfig
	if h := cfg.helper(key); h != "" {
		if ac, err = helperGet(ctx, h, key); err != nil {
			return "", err
		}
	} else {
		for k, v := range cfg.Auths {
			if loginKey(k) == key {
				ac = v
				break
			}
		}
		if ac.Auth != "" && ac.Username == "" {
			b, err := base64.StdEncoding.DecodeString(ac.Auth)
			if err != nil {
				return "", fmt.Errorf("config.json auth for %s: %w", key, err)
			}
			ac.Username, ac.Password, _ = strings.Cut(string(b), ":")
			ac.Auth = ""
		}
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" {
		return "", nil
	}
	ac.ServerAddress = key
	b, err := json.Marshal(ac)
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// helperGet runs docker-credential-<h> get, as the docker CLI does; a
// helper that knows nothing of the server is no credentials.
func helperGet(ctx context.Context, h, server string) (registry.AuthConfig, error) {
	cmd := exec.CommandContext(ctx, "docker-credential-"+h, "get")
	cmd.Stdin = strings.NewReader(server)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(string(out)+stderr.String(), "credentials not found") {
			return registry.AuthConfig{}, nil
		}
		return registry.AuthConfig{}, fmt.Errorf("credential helper %s: %w: %s", h, err, strings.TrimSpace(stderr.String()))
	}
	var c struct{ Username, Secret string }
	if err := json.Unmarshal(out, &c); err != nil {
		return registry.AuthConfig{}, fmt.Errorf("credential helper %s: %w", h, err)
	}
	if c.Username == "<token>" {
		return registry.AuthConfig{IdentityToken: c.Secret}, nil
	}
	return registry.AuthConfig{Username: c.Username, Password: c.Secret}, nil
}

// storeLogin records (or, with user "", removes) key's credentials in
// config.json's auths, keeping the file's other keys, mode 0600.
func (a *app) storeLogin(key, user, password string) error {
	cfg, raw, err := readClientConfig(a.conn.configDir)
	if err != nil {
		return err
	}
	if h := cfg.helper(key); h != "" {
		return fmt.Errorf("config.json names credential helper %q: pier does not write to helpers; use docker login", h)
	}
	auths := map[string]json.RawMessage{}
	if b, ok := raw["auths"]; ok {
		if err := json.Unmarshal(b, &auths); err != nil {
			return fmt.Errorf("config.json auths: %w", err)
		}
	}
	for k := range auths {
		if loginKey(k) == key {
			delete(auths, k)
		}
	}
	if user != "" {
		entry, _ := json.Marshal(map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))})
		auths[key] = entry
	}
	if raw["auths"], err = json.Marshal(auths); err != nil {
		return err
	}
	b, err := json.MarshalIndent(raw, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.conn.configDir, 0o700); err != nil {
		return fmt.Errorf("config dir: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(a.conn.configDir, "config.json"), b, 0o600)
}
