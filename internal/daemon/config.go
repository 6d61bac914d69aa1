package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Defaults of Config.
const (
	DefaultRoot   = "/var/lib/pier"
	DefaultSocket = "/run/pier/pier.sock"
	// DefaultGroup owns the socket when that group exists; pierd runs
	// without it (root only) otherwise.
	DefaultGroup = "pier"
	// DefaultConfigFile is read when it exists and no other is named.
	DefaultConfigFile = "/etc/pier/daemon.json"
)

// Config is pierd's configuration: a JSON file, then flags on top.
type Config struct {
	// Root holds the daemon's state.
	Root string `json:"root,omitempty"`
	// Socket is the path of the API's Unix socket.
	Socket string `json:"socket,omitempty"`
	// Group owns the socket; its members may use the API.
	Group string `json:"group,omitempty"`
	// Runtime is the path of the default OCI runtime, pier-runtime;
	// empty means the one next to pierd's executable, else $PATH's.
	Runtime string `json:"runtime,omitempty"`
	// CRI configures the Kubernetes CRI server (cri_config.go).
	CRI *CRIConfig `json:"cri,omitempty"`
}

// DefaultConfig is the configuration without a file or flags.
func DefaultConfig() Config {
	return Config{Root: DefaultRoot, Socket: DefaultSocket, Group: DefaultGroup}
}

// LoadConfig overlays the JSON file at path on base. Unknown keys are an
// error: a misspelt option silently ignored would be worse.
func LoadConfig(path string, base Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	cfg := base
	if err := dec.Decode(&cfg); err != nil {
		return base, fmt.Errorf("config %s: %w: %w", path, err, errdefs.ErrInvalidArgument)
	}
	return cfg, nil
}

// Validate checks what New relies on.
func (c Config) Validate() error {
	for _, p := range []struct{ name, path string }{{"root", c.Root}, {"socket", c.Socket}} {
		if !filepath.IsAbs(p.path) {
			return fmt.Errorf("%s %q is not an absolute path: %w", p.name, p.path, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}
