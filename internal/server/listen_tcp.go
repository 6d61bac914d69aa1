package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TLSOptions are dockerd's TLS flags for a tcp:// host.
type TLSOptions struct {
	// TLS serves TLS; Verify also requires a client certificate signed
	// by CACert (mutual TLS) and implies TLS.
	TLS, Verify       bool
	CACert, Cert, Key string
}

// ServerTLS builds the listener's TLS configuration from o: the server's
// certificate, and with Verify the client CA every client certificate
// must chain to. TLS 1.2 at least, as dockerd.
func ServerTLS(o TLSOptions) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(o.Cert, o.Key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", o.Cert, o.Key, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if o.Verify {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca %s: no PEM certificate: %w", o.CACert, errdefs.ErrInvalidArgument)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// IsLoopback reports whether a tcp:// address (host:port) binds to
// loopback only: 127.0.0.0/8, ::1 or localhost. An empty host or 0.0.0.0
// binds every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// CheckTCP is the rule for a tcp:// listener: anyone who reaches the API
// controls the host, so off loopback it needs mutual TLS (verify), unless
// the operator forced it (insecure), which the caller must log loudly.
func CheckTCP(addr string, verify, insecure bool) error {
	if verify || insecure || IsLoopback(addr) {
		return nil
	}
	return errdefs.Newf(errdefs.ErrInvalidArgument,
		"refusing to serve the API on tcp://%s without --tlsverify: whoever reaches it controls this host; "+
			"bind to 127.0.0.1, use --tlsverify with --tlscacert, --tlscert and --tlskey, or force it with --insecure-tcp", addr)
}

// ListenTCP listens on addr (host:port), with TLS when cfg is not nil.
func ListenTCP(addr string, cfg *tls.Config) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp://%s: %w", addr, err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	return l, nil
}
