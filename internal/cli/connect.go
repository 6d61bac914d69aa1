package cli

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/go-connections/sockets"
	"github.com/docker/go-connections/tlsconfig"
	"github.com/moby/moby/client"
	"github.com/spf13/pflag"

	"github.com/pier-engine/pier/internal/version"
)

// DefaultHost is pierd's socket.
const DefaultHost = "unix:///run/pier/pier.sock"

// defaultContext is the context that stands for -H, the environment and
// pierd's socket, as docker's "default" does.
const defaultContext = "default"

// connectOptions are the global flags that say where the daemon is and how
// to talk to it; their names, defaults and environment are docker's.
type connectOptions struct {
	host      string // -H
	context   string // --context (-c before the verb)
	configDir string // --config, where config.json and contexts/ live

	tls, tlsVerify             bool
	tlsCACert, tlsCert, tlsKey string

	flags *pflag.FlagSet // to tell a flag given from its default
}

func (o *connectOptions) addFlags(f *pflag.FlagSet) {
	o.flags = f
	// Read when the flags are made, as docker does: these are defaults.
	certDir := os.Getenv("DOCKER_CERT_PATH")
	if certDir == "" {
		certDir = dockerConfigDir()
	}
	f.StringVarP(&o.host, "host", "H", "", "Daemon socket to connect to (env PIER_HOST, then DOCKER_HOST; default "+DefaultHost+")")
	f.StringVar(&o.context, "context", "", `Name of the context to use (-c before the command; overrides DOCKER_HOST and the context set with "docker context use")`)
	f.StringVar(&o.configDir, "config", dockerConfigDir(), "Location of client config files (config.json, contexts)")
	f.BoolVar(&o.tls, "tls", os.Getenv("DOCKER_TLS") != "", "Use TLS; implied by --tlsverify")
	f.BoolVar(&o.tlsVerify, "tlsverify", os.Getenv("DOCKER_TLS_VERIFY") != "", "Use TLS and verify the remote")
	f.StringVar(&o.tlsCACert, "tlscacert", filepath.Join(certDir, "ca.pem"), "Trust certs signed only by this CA")
	f.StringVar(&o.tlsCert, "tlscert", filepath.Join(certDir, "cert.pem"), "Path to TLS certificate file")
	f.StringVar(&o.tlsKey, "tlskey", filepath.Join(certDir, "key.pem"), "Path to TLS key file")
}

// dockerConfigDir is DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// endpoint is where the daemon is and the TLS to reach it with (nil for
// none).
type endpoint struct {
	host string
	tls  *tls.Config
}

// newClient makes the one API client of this invocation. The connection
// is made lazily. DOCKER_API_VERSION pins the API version, as for docker;
// without it the client speaks pierd's version at once and negotiates
// only with a daemon that refuses it (apiversion.go). Over TLS it
// negotiates on the first request, as docker does: the transport there
// must stay the client's own for hijacked requests to use TLS.
func (o *connectOptions) newClient(extra ...client.Opt) (*client.Client, error) {
	ep, err := o.endpoint()
	if err != nil {
		return nil, err
	}
	opts := []client.Opt{client.WithHost(ep.host), client.WithAPIVersionFromEnv()}
	var fallback *versionFallback
	switch {
	case ep.tls != nil:
		// Before WithHost, which sets this transport's dialer.
		opts = append([]client.Opt{client.WithHTTPClient(&http.Client{
			Transport:     &http.Transport{TLSClientConfig: ep.tls},
			CheckRedirect: client.CheckRedirect,
		})}, opts...)
	case os.Getenv(client.EnvOverrideAPIVersion) == "":
		// After WithHost: the client cannot set the dialer of a transport
		// it did not make, so this one is dialled here.
		fallback, err = fallbackTransport(ep.host)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: fallback, CheckRedirect: client.CheckRedirect}),
			client.WithAPIVersion(version.APIVersion))
	}
	c, err := client.New(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", ep.host, err)
	}
	if fallback != nil {
		fallback.api = c
	}
	return c, nil
}

// fallbackTransport is the client's own transport, as client.New would
// make it for host, under versionFallback.
func fallbackTransport(host string) (*versionFallback, error) {
	u, err := client.ParseHostURL(host)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	tr := &http.Transport{MaxIdleConns: 6, IdleConnTimeout: 30 * time.Second}
	if err := sockets.ConfigureTransport(tr, u.Scheme, u.Host); err != nil {
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	return &versionFallback{base: tr}, nil
}

// endpoint resolves the daemon as the docker CLI does: --context, else -H,
// else the environment's host, else DOCKER_CONTEXT, else the current
// context of config.json, else the default (pierd's socket).
func (o *connectOptions) endpoint() (endpoint, error) {
	name, err := o.contextName()
	if err != nil {
		return endpoint{}, err
	}
	if name != defaultContext {
		return loadContext(o.configDir, name)
	}
	return o.defaultEndpoint()
}

func (o *connectOptions) contextName() (string, error) {
	switch {
	case o.context != "" && o.host != "":
		return "", errors.New("conflicting options: cannot specify both --host and --context")
	case o.context != "":
		return o.context, nil
	case o.host != "", envHost() != "":
		return defaultContext, nil
	}
	if name := os.Getenv("DOCKER_CONTEXT"); name != "" {
		return name, nil
	}
	return currentContext(o.configDir)
}

// envHost is PIER_HOST, then DOCKER_HOST.
func envHost() string {
	if h := os.Getenv("PIER_HOST"); h != "" {
		return h
	}
	return os.Getenv("DOCKER_HOST")
}

// currentContext is config.json's currentContext ("docker context use").
func currentContext(configDir string) (string, error) {
	p := filepath.Join(configDir, "config.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return defaultContext, nil
	}
	if err != nil {
		return "", fmt.Errorf("docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("docker config %s: %w", p, err)
	}
	if cfg.CurrentContext == "" {
		return defaultContext, nil
	}
	return cfg.CurrentContext, nil
}

// defaultEndpoint is -H or the environment's host, with the TLS flags.
func (o *connectOptions) defaultEndpoint() (endpoint, error) {
	useTLS := o.tls || o.tlsVerify || o.flags.Changed("tlsverify")
	h := o.host
	if h == "" {
		h = envHost()
	}
	host, err := parseHost(h, useTLS)
	if err != nil {
		return endpoint{}, err
	}
	if !useTLS {
		return endpoint{host: host}, nil
	}
	opts := tlsconfig.Options{
		CAFile: o.tlsCACert, CertFile: o.tlsCert, KeyFile: o.tlsKey,
		InsecureSkipVerify: !o.tlsVerify,
	}
	// The default client certificate is optional: docker uses it only when
	// the files are there. One named by a flag must be.
	for name, p := range map[string]*string{"tlscert": &opts.CertFile, "tlskey": &opts.KeyFile} {
		if _, err := os.Stat(*p); errors.Is(err, fs.ErrNotExist) && !o.flags.Changed(name) {
			*p = ""
		}
	}
	cfg, err := tlsconfig.Client(opts)
	if err != nil {
		return endpoint{}, fmt.Errorf("tls: %w", err)
	}
	return endpoint{host: host, tls: cfg}, nil
}

// parseHost completes a -H value as docker does: no scheme means tcp, a
// tcp address without a port gets 2376 with TLS and 2375 without.
func parseHost(h string, useTLS bool) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return DefaultHost, nil
	}
	if !strings.Contains(h, "://") {
		h = "tcp://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return "", fmt.Errorf("host %q: %w", h, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return DefaultHost, nil
		}
		return "unix://" + u.Path, nil
	case "tcp":
		if u.Path != "" && u.Path != "/" {
			return "", fmt.Errorf("host %q: a tcp address takes no path", h)
		}
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "2375"
			if useTLS {
				port = "2376"
			}
		}
		return "tcp://" + net.JoinHostPort(host, port), nil
	}
	return "", fmt.Errorf("host %q: pier connects over unix:// or tcp:// only", h)
}

// contextMeta is the part of a docker context's meta.json pier reads.
type contextMeta struct {
	Endpoints map[string]struct {
		Host          string
		SkipTLSVerify bool
	}
}

// loadContext reads the docker context name from configDir: its endpoint
// from contexts/meta/<sha256(name)>/meta.json and its TLS material (any of
// ca.pem, cert.pem, key.pem) from contexts/tls/<sha256(name)>/docker.
func loadContext(configDir, name string) (endpoint, error) {
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	b, err := os.ReadFile(filepath.Join(configDir, "contexts", "meta", id, "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return endpoint{}, fmt.Errorf("context %q does not exist", name)
	}
	if err != nil {
		return endpoint{}, fmt.Errorf("context %q: %w", name, err)
	}
	var m contextMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return endpoint{}, fmt.Errorf("context %q: meta.json: %w", name, err)
	}
	ep, ok := m.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return endpoint{}, fmt.Errorf("context %q has no docker endpoint", name)
	}
	host, err := parseHost(ep.Host, false)
	if err != nil {
		return endpoint{}, fmt.Errorf("context %q: %w", name, err)
	}
	cfg, err := contextTLS(filepath.Join(configDir, "contexts", "tls", id, "docker"), ep.SkipTLSVerify)
	if err != nil {
		return endpoint{}, fmt.Errorf("context %q: %w", name, err)
	}
	return endpoint{host: host, tls: cfg}, nil
}

// contextTLS builds a context's TLS: nil when it has no TLS material and
// does not skip verification, as in docker.
func contextTLS(dir string, skipVerify bool) (*tls.Config, error) {
	pem := map[string][]byte{}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if err == nil {
			pem[f] = b
		}
	}
	if len(pem) == 0 && !skipVerify {
		return nil, nil
	}
	cfg := tlsconfig.ClientDefault()
	cfg.InsecureSkipVerify = skipVerify
	if ca, ok := pem["ca.pem"]; ok {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("tls: %s holds no certificate", filepath.Join(dir, "ca.pem"))
		}
		cfg.RootCAs = pool
	}
	cert, hasCert := pem["cert.pem"]
	key, hasKey := pem["key.pem"]
	if hasCert != hasKey {
		return nil, fmt.Errorf("tls: %s needs both cert.pem and key.pem", dir)
	}
	if hasCert {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("tls: %s: %w", dir, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// globalArgs rewrites docker's global -c (--context) before the verb:
// cobra cannot give the shorthand to the root and to run's --cpu-shares
// at once, and docker takes global flags only before the verb anyway.
func globalArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "--" || !strings.HasPrefix(a, "-"):
			return out // the verb: what follows is its own
		case a == "-c":
			out[i] = "--context"
			i++
		case strings.HasPrefix(a, "-c"):
			out[i] = "--context=" + strings.TrimPrefix(strings.TrimPrefix(a, "-c"), "=")
		case takesValue[a]:
			i++
		}
	}
	return out
}

// takesValue are the global flags whose value is the next argument.
var takesValue = map[string]bool{
	"-H": true, "--host": true, "--context": true, "--config": true,
	"--tlscacert": true, "--tlscert": true, "--tlskey": true,
}
