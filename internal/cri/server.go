package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	grpc    *grpc.Server
	lis     net.Listener
	slis    net.Listener
	cfg     Config
	// sockInfo identifies the socket file this server made, so Close
	// removes it only if no other daemon has replaced it since.
	sockInfo os.FileInfo
}

// New makes a Server; Serve starts it.
func New(cfg Config, b Backend) (*Server, error) {
	if cfg.Socket == "" {
		cfg.Socket = DefaultSocket
	}
	if cfg.StreamAddr == "" {
		cfg.StreamAddr = "127.0.0.1:0"
	}
	s := &Server{backend: b, cfg: cfg}
	s.grpc = grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(s.grpc, s)
	runtimeapi.RegisterImageServiceServer(s.grpc, s)
	return s, nil
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
	sc := streaming.DefaultConfig
	sc.Addr = slis.Addr().String()
	st, err := streaming.NewServer(sc, s.backend)
	if err != nil {
		_ = lis.Close()
		_ = slis.Close()
		return fmt.Errorf("cri streaming server: %w", err)
	}
	s.lis, s.slis, s.stream = lis, slis, st
	if fi, err := os.Stat(s.cfg.Socket); err == nil {
		s.sockInfo = fi
	}
	return nil
}

// Serve answers until ctx ends or Close; it calls Listen if needed.
func (s *Server) Serve(ctx context.Context) error {
	if s.lis == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{Handler: s.stream}
	go func() { _ = hs.Serve(s.slis) }()
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	defer hs.Close()
	err := s.grpc.Serve(s.lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Close stops serving and removes the socket.
func (s *Server) Close() {
	s.grpc.Stop()
	if s.sockInfo != nil {
		if fi, err := os.Stat(s.cfg.Socket); err == nil && os.SameFile(fi, s.sockInfo) {
			_ = os.Remove(s.cfg.Socket)
		}
	}
}
