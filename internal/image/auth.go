package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// authFile is the part of Docker's config.json pier reads and writes.
type authFile struct {
	Auths map[string]authn.AuthConfig `json:"auths"`
}

// Credential is what a client sent for one request (the API's
// X-Registry-Auth, or an entry of a build's X-Registry-Config).
type Credential struct {
	// Server names the registry the credential is for, as the client
	// wrote it ("https://index.docker.io/v1/", "127.0.0.1:5000"); empty
	// when the client did not say (then it serves the request's registry).
	Server string
	authn.AuthConfig
}

// Empty reports whether c carries no credential at all: the docker CLI
// sends an empty config when it has none for the registry.
func (c Credential) Empty() bool {
	a := c.AuthConfig
	return a.Username == "" && a.Password == "" && a.Auth == "" && a.IdentityToken == "" && a.RegistryToken == ""
}

type credentialsKey struct{}

// WithCredentials makes the registry requests made with ctx present
// creds instead of the store's auth file: per request, as dockerd uses
// X-Registry-Auth, and never stored.
func WithCredentials(ctx context.Context, creds []Credential) context.Context {
	return context.WithValue(ctx, credentialsKey{}, creds)
}

// CredentialsOf is what WithCredentials put on ctx.
func CredentialsOf(ctx context.Context) []Credential {
	creds, _ := ctx.Value(credentialsKey{}).([]Credential)
	return creds
}

// RegistryHost is the host (and port) a login server address names, as
// the auth file is keyed: Docker Hub's aliases become index.docker.io.
func RegistryHost(server string) string {
	key := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	switch key {
	case "", "docker.io", "registry-1.docker.io", "index.docker.io":
		return "index.docker.io"
	}
	return key
}

// keychain resolves a registry's credentials. The rule, in order:
//  1. a credential the request carried for that registry (or for no
//     registry in particular) is used, for this request only;
//  2. otherwise the store's auth file, which the daemon's administrator
//     writes (Docker's config.json format); pierd never writes it from
//     the API, so one client's login is never another client's pull;
//  3. otherwise the registry is accessed anonymously.
//
// A credential for another registry is never sent to this one.
type keychain struct {
	path  string
	creds []Credential
}

func (s *Store) keychain(ctx context.Context) keychain {
	return keychain{path: s.cfg.AuthFile, creds: CredentialsOf(ctx)}
}

func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	host := RegistryHost(res.RegistryStr())
	var any *Credential
	for i, c := range k.creds {
		switch {
		case c.Server == "":
			any = &k.creds[i]
		case RegistryHost(c.Server) == host:
			return authn.FromConfig(c.AuthConfig), nil
		}
	}
	if any != nil {
		return authn.FromConfig(any.AuthConfig), nil
	}
	if k.path == "" {
		return authn.Anonymous, nil
	}
	f, err := readAuthFile(k.path)
	if err != nil {
		return nil, err
	}
	for key, c := range f.Auths {
		if RegistryHost(key) == host {
			return authn.FromConfig(c), nil
		}
	}
	return authn.Anonymous, nil
}

func readAuthFile(path string) (*authFile, error) {
	f := &authFile{Auths: map[string]authn.AuthConfig{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if f.Auths == nil {
		f.Auths = map[string]authn.AuthConfig{}
	}
	return f, nil
}

// SaveCredentials records user and password for registry in the
// config.json at path, as docker login does (the "auth" field), keeping
// the file's other entries. The file is replaced atomically, mode 0600.
func SaveCredentials(path, registry, user, password string) error {
	raw := map[string]json.RawMessage{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
	}
	f, err := readAuthFile(path)
	if err != nil {
		return err
	}
	registry = strings.TrimSuffix(strings.TrimPrefix(registry, "https://"), "/")
	f.Auths[registry] = authn.AuthConfig{Auth: base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	auths, err := json.Marshal(f.Auths)
	if err != nil {
		return err
	}
	raw["auths"] = auths
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := writeJSON(path, raw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
