package image

import (
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

// keychain resolves credentials from a Docker-style config.json; registries
// without an entry are accessed anonymously.
type keychain struct{ path string }

func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if k.path == "" {
		return authn.Anonymous, nil
	}
	f, err := readAuthFile(k.path)
	if err != nil {
		return nil, err
	}
	host := res.RegistryStr()
	keys := []string{host, "https://" + host, "http://" + host}
	if host == "index.docker.io" || host == "docker.io" {
		keys = append(keys, "https://index.docker.io/v1/", "index.docker.io", "docker.io")
	}
	for _, key := range keys {
		if c, ok := f.Auths[key]; ok {
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
