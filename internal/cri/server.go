package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
)

// DefaultSocket is where pierd serves the CRI unless told otherwise.
const DefaultSocket = "/run/pier/cri.sock"

// Config says where to serve.
type Config struct {
	// Socket is the unix socket of the gRPC services.
	Socket string
	// StreamAddr is the host:port of the streaming server (exec, attach,
	// port-forward); default 127.0.0.1:0, a free loopback port.
	StreamAddr string
}

// ErrSocketInUse: another process answers on the CRI socket.
var ErrSocketInUse = errors.New("another daemon is listening on it")

// Server is the CRI's RuntimeService and ImageService over one Backend.
type Server struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	backend Backend
	stream  streaming.Server
	lis     net.Listener
	slis    net.Listener
	cfg     Config
	// sockInfo identifies the socket file this server made, so Close
	// removes it only if no other daemon has replaced it since.
	sockInfo os.FileInfo

	// mu guards grpc, made on the first connection (start), and closed.
	mu     sync.Mutex
	grpc   *grpc.Server
	closed bool
}

// New makes a Server; Serve starts it.
func New(cfg Config, b Backend) (*Server, error) {
	if cfg.Socket == "" {
		cfg.Socket = DefaultSocket
	}
	if cfg.StreamAddr == "" {
		cfg.StreamAddr = "127.0.0.1:0"
	}
	return &Server{backend: b, cfg: cfg}, nil
}

// Listen opens the socket (replacing a stale one) and the streaming port.
func (s *Server) Listen() error {
	if err := os.MkdirAll(filepath.Dir(s.cfg.Socket), 0o710); err != nil {
		return fmt.Errorf("cri socket: %w", err)
	}
	// A live socket is another daemon's: never take it over (tests run
	// several pierds); a stale one (pierd was killed) is replaced.
	if c, err := net.DialTimeout("unix", s.cfg.Socket, time.Second); err == nil {
		_ = c.Close()
		return fmt.Errorf("cri socket %s: %w", s.cfg.Socket, ErrSocketInUse)
	}
	_ = os.Remove(s.cfg.Socket)
	lis, err := net.Listen("unix", s.cfg.Socket)
	if err != nil {
		return fmt.Errorf("cri socket: %w", err)
	}
	if err := os.Chmod(s.cfg.Socket, 0o600); err != nil {
		_ = lis.Close()
		return fmt.Errorf("cri socket: %w", err)
	}
	slis, err := net.Listen("tcp", s.cfg.StreamAddr)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("cri streaming server: %w", err)
	}
	s.lis, s.slis = lis, slis
	if fi, err := os.Stat(s.cfg.Socket); err == nil {
		s.sockInfo = fi
	}
	return nil
}

// start makes the gRPC server and the streaming server. Serve calls it on
// the first connection, not at pierd's start: a daemon nobody uses as a
// CRI keeps none of their memory (gRPC's server state, go-restful's
// routes, their goroutines). It reports false once Close has run.
func (s *Server) start() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, nil
	}
	sc := streaming.DefaultConfig
	sc.Addr = s.slis.Addr().String()
	st, err := streaming.NewServer(sc, s.backend)
	if err != nil {
		return false, fmt.Errorf("cri streaming server: %w", err)
	}
	s.stream = st
	s.grpc = grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(s.grpc, s)
	runtimeapi.RegisterImageServiceServer(s.grpc, s)
	return true, nil
}

// Serve answers until ctx ends or Close; it calls Listen if needed. It
// waits for the first connection before it makes the servers (start).
func (s *Server) Serve(ctx context.Context) error {
	if s.lis == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	first, err := acceptFirst(s.lis)
	if errors.Is(err, net.ErrClosed) {
		return nil
	} else if err != nil {
		_ = s.slis.Close()
		return fmt.Errorf("cri socket: %w", err)
	}
	if ok, err := s.start(); !ok {
		_ = first.Close()
		_ = s.slis.Close()
		return err
	}
	hs := &http.Server{Handler: s.stream}
	go func() { _ = hs.Serve(s.slis) }()
	defer hs.Close()
	err = s.grpc.Serve(&primed{Listener: s.lis, first: first})
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// acceptFirst waits for the first connection, retrying what gRPC's own
// accept loop would retry (a temporary error such as EMFILE).
func acceptFirst(lis net.Listener) (net.Conn, error) {
	for {
		c, err := lis.Accept()
		var te interface{ Temporary() bool }
		if err != nil && errors.As(err, &te) && te.Temporary() {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		return c, err
	}
}

// primed is a listener whose first Accept returns a connection already
// accepted, so the gRPC server serves the client that made it start.
type primed struct {
	net.Listener
	once  sync.Once
	first net.Conn
}

func (p *primed) Accept() (net.Conn, error) {
	var c net.Conn
	p.once.Do(func() { c = p.first })
	if c != nil {
		return c, nil
	}
	return p.Listener.Accept()
}

// Close also closes the first connection if gRPC never took it (Close ran
// between start and Serve).
func (p *primed) Close() error {
	p.once.Do(func() { _ = p.first.Close() })
	return p.Listener.Close()
}

// Close stops serving and removes the socket.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	g := s.grpc
	s.mu.Unlock()
	if g != nil {
		g.Stop()
	} else if s.lis != nil {
		// not started: nothing but the listeners to close
		_ = s.lis.Close()
		_ = s.slis.Close()
	}
	if s.sockInfo != nil {
		if fi, err := os.Stat(s.cfg.Socket); err == nil && os.SameFile(fi, s.sockInfo) {
			_ = os.Remove(s.cfg.Socket)
		}
	}
}
