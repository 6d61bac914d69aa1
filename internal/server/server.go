package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config says what a Server serves: a backend for each router. Backend
// is required; every other nil backend leaves its routes out (they answer
// 404 then), so a test or a smaller front end wires only what it has.
type Config struct {
	// Backend answers /_ping, /version and /info.
	Backend SystemBackend
	// DiskUsage answers GET /system/df.
	DiskUsage DiskUsageBackend
	// Containers serves /containers/* but exec; Exec serves
	// /containers/{id}/exec and /exec/*.
	Containers ContainerBackend
	Exec       ExecBackend
	Images     ImageBackend
	// Registry serves POST /auth (docker login).
	Registry AuthBackend
	Networks NetworkBackend
	Volumes  VolumeBackend
	Events   EventBackend
	// Build serves /build, /build/prune, /commit and container changes.
	Build BuildBackend
	// BuildKit serves /grpc and /session (buildx's docker driver), and
	// makes /_ping announce Builder-Version 2.
	BuildKit BuildKitBackend
	// The CRI server is not here: it is a gRPC front end on its own
	// socket, over the engine's seams, wired in cmd/pierd.

	// Version is pier's version, sent in every response's Server header.
	Version string
	// Logger gets one line per failed request; nil discards.
	Logger *slog.Logger
}

// Server is the API's http.Handler.
type Server struct {
	version string
	log     *slog.Logger
	handler http.Handler
	idle    idleTrimmer
}

// shutdownGrace bounds how long Serve waits for requests in flight once
// it is told to stop.
const shutdownGrace = 10 * time.Second

// New builds the handler: the routers of the backends cfg has.
func New(cfg Config) *Server {
	s := &Server{version: cfg.Version, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	routers := []router{systemRouter{cfg.Backend, cfg.DiskUsage}, swarmRouter{}}
	// A nil interface in cfg stays nil here: each router is added only
	// with a backend behind it.
	if cfg.Containers != nil {
		routers = append(routers, &containerRouter{b: cfg.Containers, log: s.log})
	}
	if cfg.Exec != nil {
		routers = append(routers, execRouter{cfg.Exec})
	}
	if cfg.Images != nil {
		routers = append(routers, imageRouter{cfg.Images})
	}
	if cfg.Registry != nil {
		routers = append(routers, authRouter{cfg.Registry})
	}
	if cfg.Networks != nil {
		routers = append(routers, networkRouter{cfg.Networks})
	}
	if cfg.Volumes != nil {
		routers = append(routers, volumeRouter{cfg.Volumes})
	}
	if cfg.Events != nil {
		routers = append(routers, eventRouter{cfg.Events})
	}
	if cfg.Build != nil {
		routers = append(routers, buildRouter{cfg.Build})
	}
	if cfg.BuildKit != nil {
		routers = append(routers, buildKitRouter{cfg.BuildKit})
	}
	mux := http.NewServeMux()
	for _, rt := range routers {
		for _, r := range rt.routes() {
			mux.Handle(r.pattern, s.handle(r.handler))
		}
	}
	s.handler = s.withVersion(s.limitBody(withRegistryAuth(s.routed(mux), s), MaxJSONBody))
	if cfg.BuildKit != nil {
		s.handler = s.withBuilderVersion(s.handler, cfg.BuildKit)
	}
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
			_ = notFound(w, r)
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
