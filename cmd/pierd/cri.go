package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"

	"github.com/pier-engine/pier/internal/cri"
	"github.com/pier-engine/pier/internal/daemon"
)

// criSocketFlag is --cri-socket: the CRI's unix socket, "" to turn it off.
var criSocketFlag string

func addCRIFlags(fs *flag.FlagSet) {
	fs.StringVar(&criSocketFlag, "cri-socket", cri.DefaultSocket, `Kubernetes CRI socket ("" turns the CRI off; daemon.json "cri": {"socket", "disable"})`)
}

// startCRI serves the Kubernetes CRI over the same engine as the Docker
// API, unless it is turned off; the returned func stops it.
func startCRI(ctx context.Context, d *daemon.Daemon, c *daemon.CRIConfig, o options, log *slog.Logger) (func(), error) {
	var cfg daemon.CRIConfig
	if c != nil {
		cfg = *c
	}
	if o.set["cri-socket"] {
		cfg.Socket, cfg.Disable = criSocketFlag, criSocketFlag == ""
	}
	if cfg.Disable {
		return func() {}, nil
	}
	backend, err := d.NewCRI(cfg)
	if err != nil {
		return nil, err
	}
	srv, err := cri.New(cri.Config{Socket: cfg.Socket, StreamAddr: cfg.StreamAddress}, backend)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); errors.Is(err, cri.ErrSocketInUse) {
		log.Warn("cri server off", "err", err)
		return func() {}, nil
	} else if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx); err != nil {
			log.Error("cri server", "err", err)
		}
	}()
	log.Info("cri serving", "socket", cfg.Socket, "cni", cfg.CNIConfDir)
	return func() { cancel(); <-done }, nil
}
