// Command pierd is pier's daemon: it serves the Docker Engine API on a
// Unix socket. It only wires things together: configuration and logging
// here, the API in internal/server, the engine in internal/daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/server"
	"github.com/pier-engine/pier/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are pierd's flags; those given override the config file.
type options struct {
	config, root, host, group, runtime string
	debug, version                     bool
	set                                map[string]bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pierd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "JSON config file (default "+daemon.DefaultConfigFile+" when it exists)")
	fs.StringVar(&o.root, "root", "", "state directory (default "+daemon.DefaultRoot+")")
	fs.StringVar(&o.host, "host", "", "API socket, unix:///path (default unix://"+daemon.DefaultSocket+")")
	fs.StringVar(&o.group, "group", "", "group owning the socket (default "+daemon.DefaultGroup+" when it exists)")
	fs.StringVar(&o.runtime, "runtime", "", "path of pier-runtime (default: beside pierd, else $PATH)")
	fs.BoolVar(&o.debug, "debug", false, "log every request")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return o, nil
}

// configure reads the config file, then lays the flags given on top.
func configure(o options) (daemon.Config, error) {
	cfg := daemon.DefaultConfig()
	path := o.config
	if path == "" {
		if _, err := os.Stat(daemon.DefaultConfigFile); err == nil {
			path = daemon.DefaultConfigFile
		}
	}
	if path != "" {
		var err error
		if cfg, err = daemon.LoadConfig(path, cfg); err != nil {
			return cfg, err
		}
	}
	if o.set["root"] {
		cfg.Root = o.root
	}
	if o.set["host"] {
		p, ok := strings.CutPrefix(o.host, "unix://")
		if !ok {
			return cfg, fmt.Errorf("--host %q: only unix:///path is supported", o.host)
		}
		cfg.Socket = p
	}
	if o.set["group"] {
		cfg.Group = o.group
	}
	if o.set["runtime"] {
		cfg.Runtime = o.runtime
	}
	return cfg, cfg.Validate()
}

// socketGID resolves the socket's group; -1 keeps root's. The default
// group may be absent (root alone then uses the API); a named one may not.
func socketGID(group string, log *slog.Logger) (int, error) {
	if group == "" {
		return -1, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		if group == daemon.DefaultGroup {
			log.Info("socket group absent, socket is root's only", "group", group)
			return -1, nil
		}
		return -1, fmt.Errorf("socket group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// listen takes the socket systemd passed (contrib/systemd/pier.socket,
// which also sets its mode and group), else creates cfg.Socket.
func listen(cfg daemon.Config, log *slog.Logger) (net.Listener, error) {
	ls, err := server.ActivationListeners()
	if err != nil {
		return nil, err
	}
	switch len(ls) {
	case 0:
	case 1:
		log.Info("socket activation", "path", ls[0].Addr().String())
		return ls[0], nil
	default:
		for _, l := range ls {
			l.Close()
		}
		return nil, fmt.Errorf("socket activation passed %d sockets, pierd serves one", len(ls))
	}
	gid, err := socketGID(cfg.Group, log)
	if err != nil {
		return nil, err
	}
	return server.ListenUnix(cfg.Socket, gid)
}

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "pierd:", err)
		return 2
	}
	if o.version {
		fmt.Println("pierd version", version.Version)
		return 0
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(o, log); err != nil {
		log.Error("pierd", "err", err)
		return 1
	}
	return 0
}

func serve(o options, log *slog.Logger) error {
	cfg, err := configure(o)
	if err != nil {
		return err
	}
	// Before daemon.New, which starts processes: they must not inherit
	// systemd's LISTEN_* variables.
	l, err := listen(cfg, log)
	if err != nil {
		return err
	}
	defer l.Close()
	d, err := daemon.New(cfg, log)
	if err != nil {
		return err
	}
	// Networks stay up while pierd serves: building a bridge and its rules
	// for each run would cost ~100 ms. They go when pierd stops.
	defer d.Networks().Hold()()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bb, err := newBuildBackend(ctx, d, cfg.Root)
	if err != nil {
		return err
	}
	scfg := serverConfig(d, log)
	scfg.Build = bb
	srv := server.New(scfg)
	log.Info("pierd serving", "path", l.Addr().String(), "root", cfg.Root, "version", version.Version)
	if err := srv.Serve(ctx, l); err != nil {
		return err
	}
	log.Info("pierd stopped", "path", cfg.Socket)
	return nil
}

// serverConfig gives the daemon to each of the API's routers; the
// compiler checks that it implements every backend (wiring_test.go).
func serverConfig(d *daemon.Daemon, log *slog.Logger) server.Config {
	return server.Config{
		Backend:    d,
		DiskUsage:  d,
		Containers: d,
		Exec:       d,
		Images:     d,
		Registry:   d,
		Networks:   d.Networks(),
		Volumes:    d,
		Events:     d,
		Version:    version.Version,
		Logger:     log,
	}
}
