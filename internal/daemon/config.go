package daemon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

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
	// ExecRoot holds what only a running container needs and pierd can
	// make again: the runtimes' state, monitors' sockets and status, and
	// each container's /etc/hostname, hosts and resolv.conf, on a tmpfs
	// (dockerd's --exec-root). "" is DefaultExecRoot(Root).
	ExecRoot string `json:"exec-root,omitempty"`
	// Socket is the path of the API's Unix socket.
	Socket string `json:"socket,omitempty"`
	// Group owns the socket; its members may use the API.
	Group string `json:"group,omitempty"`
	// Runtime is the path of the default OCI runtime, pier-runtime;
	// empty means the one next to pierd's executable, else $PATH's.
	Runtime string `json:"runtime,omitempty"`

	// Hosts are the API's listeners, as dockerd's -H and its "hosts"
	// key: unix:///path, tcp://host:port and fd:// (systemd's sockets).
	// Empty means unix://Socket.
	Hosts []string `json:"hosts,omitempty"`
	// TLS serves tcp:// hosts over TLS with TLSCert and TLSKey;
	// TLSVerify also requires client certificates signed by TLSCACert
	// (mutual TLS), and implies TLS. dockerd's names.
	TLS       bool   `json:"tls,omitempty"`
	TLSVerify bool   `json:"tlsverify,omitempty"`
	TLSCACert string `json:"tlscacert,omitempty"`
	TLSCert   string `json:"tlscert,omitempty"`
	TLSKey    string `json:"tlskey,omitempty"`
	// InsecureTCP lets a tcp:// host off loopback go without TLSVerify
	// (logged as a warning at every start): anyone who reaches it owns
	// the host.
	InsecureTCP bool `json:"insecure-tcp,omitempty"`
	// DockerSocket also serves the API at DockerSocketPath, for tools
	// that hard-code Docker's socket (Testcontainers, IDEs). Opt-in: it
	// fails if anything but a socket pier made is at that path (a live
	// dockerd's, or one Docker left), and never removes it.
	DockerSocket bool `json:"docker-socket,omitempty"`
	// DockerSocketPath is where DockerSocket serves; "" is
	// DefaultDockerSocket.
	DockerSocketPath string `json:"docker-socket-path,omitempty"`
	// CRI configures the Kubernetes CRI server (cri_config.go).
	CRI *CRIConfig `json:"cri,omitempty"`
	// Builder is dockerd's "builder" key: BuildKit's entitlements and
	// cache collection (config_builder.go).
	Builder *BuilderConfig `json:"builder,omitempty"`

	// Helper is an executable that, run with BuildBusyboxEnv set, is
	// BuildBusyboxMain: pierd itself. Empty: the default busybox image is
	// made in the daemon's own process (busybox_child.go).
	Helper string `json:"-"`

	// busybox is the static busybox the default image is made from
	// ("" is busyboxBinary); tests point it elsewhere.
	busybox string
}

// DefaultExecRoot is the exec root of a daemon whose root is root: a
// directory of ExecRootParent, one per root, so that daemons on different
// roots (tests') never share one.
func DefaultExecRoot(root string) string {
	if filepath.Clean(root) == DefaultRoot {
		return ExecRootParent + "/default"
	}
	sum := sha256.Sum256([]byte(filepath.Clean(root)))
	return ExecRootParent + "/" + hex.EncodeToString(sum[:6])
}

// ExecRootParent holds the default exec roots: one tmpfs for all of them
// (prepareExecRoot), beside the default socket.
const ExecRootParent = "/run/pier/exec"

// execRoot is c.ExecRoot, or the default for c.Root.
func (c Config) execRoot() string {
	if c.ExecRoot != "" {
		return c.ExecRoot
	}
	return DefaultExecRoot(c.Root)
}

// execRootMount is where the exec root's tmpfs goes: on the exec root
// given, or on the parent of the default ones.
func (c Config) execRootMount() string {
	if c.ExecRoot != "" {
		return c.ExecRoot
	}
	return ExecRootParent
}

// DefaultDockerSocket is Docker's default socket, which DockerSocket
// serves.
const DefaultDockerSocket = "/var/run/docker.sock"

// Default TLS files, dockerd's names in pier's config directory.
const (
	DefaultTLSCACert = "/etc/pier/ca.pem"
	DefaultTLSCert   = "/etc/pier/cert.pem"
	DefaultTLSKey    = "/etc/pier/key.pem"
)

// Listener is one API endpoint of Config.Listeners: a Unix socket path,
// a TCP address, or systemd's sockets.
type Listener struct {
	Proto string // "unix", "tcp" or "fd"
	Addr  string // the socket's path, or host:port
	// Docker marks Docker's socket (DockerSocket): a path other programs
	// use, where only a socket pier made may be replaced.
	Docker bool
}

// Listeners parses Hosts (unix://Socket when there are none), adding
// Docker's socket when DockerSocket is set. Duplicates are an error, as
// two listeners on one address cannot both bind.
func (c Config) Listeners() ([]Listener, error) {
	hosts := c.Hosts
	if len(hosts) == 0 {
		hosts = []string{"unix://" + c.Socket}
	}
	docker := c.DockerSocketPath
	if docker == "" {
		docker = DefaultDockerSocket
	}
	if c.DockerSocket {
		hosts = append(slices.Clone(hosts), "unix://"+docker)
	}
	var out []Listener
	seen := map[Listener]bool{}
	for _, h := range hosts {
		l, err := parseHost(h)
		if err != nil {
			return nil, err
		}
		if seen[l] {
			return nil, fmt.Errorf("host %q given twice: %w", h, errdefs.ErrInvalidArgument)
		}
		seen[l] = true
		out = append(out, l)
	}
	if c.DockerSocket {
		out[len(out)-1].Docker = true
	}
	return out, nil
}

// parseHost reads one -H value as dockerd does: unix:///path, a bare
// absolute path, tcp://host:port (port required; host may be empty for
// every interface), fd:// (the sockets systemd passes).
func parseHost(h string) (Listener, error) {
	switch {
	case strings.HasPrefix(h, "unix://"):
		p := strings.TrimPrefix(h, "unix://")
		if !filepath.IsAbs(p) {
			return Listener{}, fmt.Errorf("host %q: want unix:///absolute/path: %w", h, errdefs.ErrInvalidArgument)
		}
		return Listener{Proto: "unix", Addr: p}, nil
	case strings.HasPrefix(h, "/"):
		return Listener{Proto: "unix", Addr: h}, nil
	case h == "fd://" || h == "fd":
		// dockerd's unit files say -H fd://: systemd's sockets.
		return Listener{Proto: "fd"}, nil
	case strings.HasPrefix(h, "tcp://"):
		addr := strings.TrimSuffix(strings.TrimPrefix(h, "tcp://"), "/")
		host, port, err := net.SplitHostPort(addr)
		if err != nil || port == "" {
			return Listener{}, fmt.Errorf("host %q: want tcp://host:port: %w", h, errdefs.ErrInvalidArgument)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return Listener{}, fmt.Errorf("host %q: port %q: %w", h, port, errdefs.ErrInvalidArgument)
		}
		return Listener{Proto: "tcp", Addr: net.JoinHostPort(host, port)}, nil
	}
	return Listener{}, fmt.Errorf("host %q: only unix:// and tcp:// are supported: %w", h, errdefs.ErrInvalidArgument)
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
	if _, err := c.Listeners(); err != nil {
		return err
	}
	for _, p := range []struct{ name, path string }{{"root", c.Root}, {"socket", c.Socket}, {"exec-root", c.execRoot()}} {
		if !filepath.IsAbs(p.path) {
			return fmt.Errorf("%s %q is not an absolute path: %w", p.name, p.path, errdefs.ErrInvalidArgument)
		}
	}
	if err := c.Builder.validate(); err != nil {
		return err
	}
	return c.validateExecRoot()
}

// validateExecRoot refuses an exec root that would hide the root or a
// socket: pierd mounts a tmpfs on it.
func (c Config) validateExecRoot() error {
	exec := filepath.Clean(c.execRootMount())
	paths := []string{c.Root}
	if ls, err := c.Listeners(); err == nil {
		for _, l := range ls {
			if l.Proto == "unix" {
				paths = append(paths, l.Addr)
			}
		}
	}
	for _, p := range paths {
		p = filepath.Clean(p)
		if p == exec || strings.HasPrefix(p, exec+"/") || exec == "/" {
			return fmt.Errorf("exec-root %q holds %q: pierd mounts a tmpfs on it: %w", exec, p, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}
