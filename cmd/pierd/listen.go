package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/server"
)

// flagTLS lays the TLS flags given on top of the config file's.
func flagTLS(o options, cfg *daemon.Config) {
	set := func(name string, dst *string, v string) {
		if o.set[name] {
			*dst = v
		}
	}
	set("tlscacert", &cfg.TLSCACert, o.tlsCACert)
	set("tlscert", &cfg.TLSCert, o.tlsCert)
	set("tlskey", &cfg.TLSKey, o.tlsKey)
	set("docker-socket-path", &cfg.DockerSocketPath, o.dockerSocketPath)
	for name, p := range map[string]struct {
		dst *bool
		v   bool
	}{"tls": {&cfg.TLS, o.tls}, "tlsverify": {&cfg.TLSVerify, o.tlsVerify},
		"insecure-tcp": {&cfg.InsecureTCP, o.insecureTCP}, "docker-socket": {&cfg.DockerSocket, o.dockerSocket}} {
		if o.set[name] {
			*p.dst = p.v
		}
	}
	for dst, def := range map[*string]string{&cfg.TLSCACert: daemon.DefaultTLSCACert,
		&cfg.TLSCert: daemon.DefaultTLSCert, &cfg.TLSKey: daemon.DefaultTLSKey} {
		if *dst == "" {
			*dst = def
		}
	}
}

// listen opens every API listener: the sockets systemd passed
// (contrib/systemd/pier.socket, which sets their mode and group) if any,
// else each of cfg's hosts. A tcp:// host off loopback needs --tlsverify
// or --insecure-tcp, and the latter is logged as a warning. On error
// nothing stays open.
func listen(cfg daemon.Config, log *slog.Logger) (ls []net.Listener, err error) {
	defer func() {
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			ls = nil
		}
	}()
	if ls, err = server.ActivationListeners(); err != nil || len(ls) > 0 {
		for _, l := range ls {
			log.Info("socket activation", "path", l.Addr().String())
		}
		return ls, err
	}
	hosts, err := cfg.Listeners()
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		l, err := listenOne(cfg, h, log)
		if err != nil {
			return ls, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func listenOne(cfg daemon.Config, h daemon.Listener, log *slog.Logger) (net.Listener, error) {
	if h.Proto == "fd" {
		return nil, errors.New("-H fd:// needs the sockets of systemd's socket activation, and none were passed (see contrib/systemd)")
	}
	if h.Proto == "unix" {
		gid, err := socketGID(cfg.Group, log)
		if err != nil {
			return nil, err
		}
		if h.Docker {
			return server.ListenUnixClaimed(h.Addr, gid, filepath.Join(cfg.Root, "docker-socket.claim"))
		}
		return server.ListenUnix(h.Addr, gid)
	}
	if err := server.CheckTCP(h.Addr, cfg.TLSVerify, cfg.InsecureTCP); err != nil {
		return nil, err
	}
	if !cfg.TLSVerify && !server.IsLoopback(h.Addr) {
		log.Warn("SERVING THE API ON TCP WITHOUT CLIENT CERTIFICATES (--insecure-tcp): anyone who can reach "+
			h.Addr+" can run containers as root on this host; use --tlsverify", "addr", h.Addr, "tls", cfg.TLS)
	}
	if !cfg.TLS && !cfg.TLSVerify {
		return server.ListenTCP(h.Addr, nil)
	}
	tc, err := server.ServerTLS(server.TLSOptions{TLS: true, Verify: cfg.TLSVerify,
		CACert: cfg.TLSCACert, Cert: cfg.TLSCert, Key: cfg.TLSKey})
	if err != nil {
		return nil, err
	}
	return server.ListenTCP(h.Addr, tc)
}

// serveAll serves srv on every listener until ctx is done or one fails,
// which stops the others.
func serveAll(ctx context.Context, srv *server.Server, ls []net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range ls {
		g.Go(func() error {
			err := srv.Serve(gctx, l)
			if err == nil && ctx.Err() == nil {
				// Another listener failed and stopped this one.
				return errors.New("stopped")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", l.Addr(), err)
			}
			return nil
		})
	}
	return g.Wait()
}
