package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// BuildKitBackend is the daemon's BuildKit, as buildx's docker driver
// reaches it: its control API over an h2c connection (/grpc) and its
// session manager (/session), which dials back into the client for the
// build context, secrets and ssh.
type BuildKitBackend interface {
	// ServeGRPC serves the control API on conn, which the client has
	// upgraded to h2c, until the client closes it.
	ServeGRPC(ctx context.Context, conn net.Conn) error
	// ServeSession takes the request's connection over for a session;
	// it hijacks w itself and returns when the session ends.
	ServeSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error
}

// buildKitRouter serves /grpc and /session as dockerd does.
type buildKitRouter struct{ b BuildKitBackend }

func (br buildKitRouter) routes() []route {
	return []route{
		{"POST /grpc", br.grpc},
		{"POST /session", br.session},
	}
}

// grpc answers the client's Upgrade: h2c with 101 and hands the raw
// connection to BuildKit's gRPC server.
func (br buildKitRouter) grpc(w http.ResponseWriter, r *http.Request) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "h2c") {
		return errdefs.New(errdefs.ErrInvalidArgument, "/grpc needs Upgrade: h2c")
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fmt.Errorf("hijack /grpc: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")); err != nil {
		return fmt.Errorf("upgrade /grpc: %w", err)
	}
	return br.b.ServeGRPC(r.Context(), bufferedConn(conn, buf.Reader))
}

// session hands the request to BuildKit's session manager.
func (br buildKitRouter) session(w http.ResponseWriter, r *http.Request) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "h2c") {
		return errdefs.New(errdefs.ErrInvalidArgument, "/session needs Upgrade: h2c")
	}
	return br.b.ServeSession(r.Context(), w, r)
}

// bufferedConn keeps bytes the server read past the request's headers.
func bufferedConn(c net.Conn, r *bufio.Reader) net.Conn {
	if r == nil || r.Buffered() == 0 {
		return c
	}
	return &readConn{Conn: c, r: r}
}

type readConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// withBuilderVersion sends /_ping's Builder-Version: 2, which tells
// clients (the docker CLI, buildx, compose) that BuildKit is served. It
// is set only when it is: a client told so never uses the classic path.
// POST /build?version=2 goes to BuildKit when the backend runs builds.
func (s *Server) withBuilderVersion(next http.Handler, b BuildKitBackend) http.Handler {
	v2, _ := b.(BuildKitBuilder)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Builder-Version", "2")
		}
		if v2 != nil && isBuildV2(r) {
			s.handle(func(w http.ResponseWriter, r *http.Request) error { return buildV2(w, r, v2) }).ServeHTTP(w, r)
			return
		}
		if c, ok := b.(BuildKitCanceller); ok && r.Method == http.MethodPost && apiPath(r) == "/build/cancel" {
			// Then the classic route answers, as it does for its own ids.
			c.CancelBuild(r.URL.Query().Get("id"))
		}
		next.ServeHTTP(w, r)
	})
}
