package buildkit

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"sync"

	"golang.org/x/net/http2"
)

// Lazy starts BuildKit on the first request that needs it, so that a
// pierd that never builds never pays for BuildKit's databases, worker
// and goroutines. It serves the API's /grpc and /session.
type Lazy struct {
	cfg Config
	// ctx outlives requests: BuildKit runs until Close.
	ctx context.Context

	mu sync.Mutex
	d  *Daemon // Guarded by mu.

	builds builds // version-2 builds running, for Cancel
}

// NewLazy returns a BuildKit that starts with cfg on first use.
func NewLazy(ctx context.Context, cfg Config) *Lazy {
	return &Lazy{cfg: cfg, ctx: context.WithoutCancel(ctx)}
}

// Daemon starts BuildKit if it is not running and returns it. A failed
// start is retried by the next caller.
func (l *Lazy) Daemon() (*Daemon, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.d != nil {
		return l.d, nil
	}
	d, err := Start(l.ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	l.d = d
	return d, nil
}

// Started reports whether BuildKit is running (for /system/df, which
// must not start it just to count nothing).
func (l *Lazy) Started() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d != nil
}

// ServeGRPC serves BuildKit's control API over an h2c connection.
func (l *Lazy) ServeGRPC(ctx context.Context, conn net.Conn) error {
	d, err := l.Daemon()
	if err != nil {
		return err
	}
	// A client that hangs up before its preface (buildx probes) is not
	// worth a line in pierd's log.
	quiet := &http.Server{ErrorLog: log.New(io.Discard, "", 0)}
	(&http2.Server{}).ServeConn(conn, &http2.ServeConnOpts{Context: ctx, Handler: d.GRPC, BaseConfig: quiet})
	return nil
}

// ServeSession hands the request to BuildKit's session manager, which
// hijacks the connection and holds it for the session's life.
func (l *Lazy) ServeSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	d, err := l.Daemon()
	if err != nil {
		return err
	}
	return d.Sessions.HandleHTTPRequest(ctx, w, r)
}

// Close stops BuildKit if it was started.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.d == nil {
		return nil
	}
	err := l.d.Close()
	l.d = nil
	return err
}
