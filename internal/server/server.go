package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/moby/moby/api/types/system"
)

// Backend is what the API needs from the engine. internal/daemon
// implements it; it grows with each endpoint the server learns.
type Backend interface {
	// Info describes the host and the engine's objects (GET /info).
	Info(ctx context.Context) (system.Info, error)
	// Version names the engine and its components (GET /version); the
	// server fills in the API versions, which only it knows.
	Version(ctx context.Context) (system.VersionResponse, error)
}

// Config says what a Server serves.
type Config struct {
	Backend Backend
	// Images and Volumes serve /images/* and /volumes/*; nil leaves
	// those routes out (their endpoints answer 404 then).
	Images     ImageBackend
	Volumes    VolumeBackend
	Containers ContainerBackend
	// Version is pier's version, sent in every response's Server header.
	Version string
	// Logger gets one line per failed request; nil discards.
	Logger *slog.Logger
}

// Server is the API's http.Handler.
type Server struct {
	backend    Backend
	images     ImageBackend
	volumes    VolumeBackend
	containers ContainerBackend
	version    string
	log        *slog.Logger
	handler    http.Handler
	idle       idleTrimmer
}

// shutdownGrace bounds how long Serve waits for requests in flight once
// it is told to stop.
const shutdownGrace = 10 * time.Second

// New builds the handler and its routes.
func New(cfg Config) *Server {
	s := &Server{backend: cfg.Backend, images: cfg.Images, volumes: cfg.Volumes, containers: cfg.Containers, version: cfg.Version, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", s.ping)
	mux.HandleFunc("HEAD /_ping", s.ping)
	mux.HandleFunc("GET /version", s.getVersion)
	mux.HandleFunc("GET /info", s.getInfo)
	if s.images != nil {
		s.imageRoutes(mux)
	}
	if s.volumes != nil {
		s.volumeRoutes(mux)
	}
	if s.containers != nil {
		s.containerRoutes(mux)
	}
	s.authRoutes(mux)
	s.exportRoutes(mux)
	s.handler = s.withVersion(s.routed(mux))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.idle.touch()
	s.handler.ServeHTTP(w, r)
}

// routed answers requests no route takes, including a known path with
// another method, as dockerd does: 404 with {"message": "page not found"}.
func (s *Server) routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Serve answers requests on l until ctx is done, then stops accepting,
// lets requests in flight finish (for up to shutdownGrace) and closes l,
// which removes a Unix socket's file.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	// Requests' contexts end with Serve's, so that streams which never
	// finish by themselves (events, logs -f, attach) let Shutdown through.
	base, stop := context.WithCancel(context.Background())
	defer stop()
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	hs.RegisterOnShutdown(stop)
	s.idle.touch() // what starting the daemon used goes back too
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down %s: %w", l.Addr(), err)
	}
	return nil
}
