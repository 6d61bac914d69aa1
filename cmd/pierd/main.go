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
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/server"
	"github.com/pier-engine/pier/internal/userns"
	"github.com/pier-engine/pier/internal/version"
)

func main() {
	if userns.IsHolder() {
		// pierd run again to hold a CRI pod's new namespaces for a moment
		os.Exit(userns.HolderMain())
	}
	if os.Getenv(daemon.BuildBusyboxEnv) != "" {
		// pierd run again to make the default busybox image out of the
		// daemon's memory
		os.Exit(daemon.BuildBusyboxMain(os.Args[1:]))
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are pierd's flags; those given override the config file.
type options struct {
	config, root, group, runtime string
	execRoot                     string
	hosts                        hostList
	tlsCACert, tlsCert, tlsKey   string
	tls, tlsVerify, insecureTCP  bool
	dockerSocket                 bool
	dockerSocketPath             string
	debug, version               bool
	set                          map[string]bool
}

// hostList is -H/--host, which may be given several times.
type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pierd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "JSON config file (default "+daemon.DefaultConfigFile+" when it exists)")
	fs.StringVar(&o.root, "root", "", "state directory (default "+daemon.DefaultRoot+")")
	fs.StringVar(&o.execRoot, "exec-root", "", "directory for running containers' volatile files, a tmpfs (default "+daemon.DefaultExecRoot(daemon.DefaultRoot)+", or "+daemon.ExecRootParent+"/HASH for another --root, on one tmpfs)")
	hostUsage := "API listener, unix:///path or tcp://host:port; repeat for several (default unix://" + daemon.DefaultSocket + ")"
	fs.Var(&o.hosts, "host", hostUsage)
	fs.Var(&o.hosts, "H", hostUsage)
	fs.BoolVar(&o.tls, "tls", false, "serve tcp:// hosts over TLS (--tlscert, --tlskey)")
	fs.BoolVar(&o.tlsVerify, "tlsverify", false, "serve tcp:// hosts over mutual TLS: clients need a certificate signed by --tlscacert (implies --tls)")
	fs.StringVar(&o.tlsCACert, "tlscacert", daemon.DefaultTLSCACert, "CA that client certificates must chain to")
	fs.StringVar(&o.tlsCert, "tlscert", daemon.DefaultTLSCert, "server's TLS certificate")
	fs.StringVar(&o.tlsKey, "tlskey", daemon.DefaultTLSKey, "server's TLS key")
	fs.BoolVar(&o.insecureTCP, "insecure-tcp", false, "allow a tcp:// host off loopback without --tlsverify (whoever reaches it controls this host)")
	fs.BoolVar(&o.dockerSocket, "docker-socket", false, "also serve the API at Docker's socket, --docker-socket-path")
	fs.StringVar(&o.dockerSocketPath, "docker-socket-path", daemon.DefaultDockerSocket, "where --docker-socket serves; a socket pier did not make there is never replaced")
	fs.StringVar(&o.group, "group", "", "group owning the socket (default "+daemon.DefaultGroup+" when it exists)")
	fs.StringVar(&o.runtime, "runtime", "", "path of pier-runtime (default: beside pierd, else $PATH)")
	fs.BoolVar(&o.debug, "debug", false, "log every request")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	addCRIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.set["H"] {
		o.set["host"] = true
	}
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
	if o.set["exec-root"] {
		cfg.ExecRoot = o.execRoot
	}
	if o.set["host"] {
		cfg.Hosts = o.hosts
		// The first Unix socket is the one pierd names as its own.
		for _, h := range o.hosts {
			if p, ok := strings.CutPrefix(h, "unix://"); ok {
				cfg.Socket = p
				break
			}
		}
	}
	flagTLS(o, &cfg)
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
	ls, err := listen(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	if exe, err := os.Executable(); err == nil {
		cfg.Helper = exe // for the default busybox image (daemon.BuildBusyboxMain)
	}
	d, err := daemon.New(cfg, log)
	if err != nil {
		return err
	}
	defer d.ReleaseExecRoot()
	defer d.ParkMonitors()()
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
	scfg.DiskUsage = classicDiskUsage{scfg.DiskUsage, bb}
	bk, err := newBuildKit(d, cfg.Root, o.debug, log)
	if err != nil {
		return err
	}
	if bk != nil {
		defer bk.Close()
		scfg.BuildKit = buildKitBackend{bk}
		scfg.Build = buildPrune{bb, bk}
		scfg.DiskUsage = diskUsage{scfg.DiskUsage, bk}
	}
	srv := server.New(scfg)
	addrs := make([]string, len(ls))
	for i, l := range ls {
		addrs[i] = l.Addr().Network() + "://" + l.Addr().String()
	}
	stopCRI, err := startCRI(ctx, d, cfg.CRI, o, log)
	if err != nil {
		return err
	}
	defer stopCRI()
	log.Info("pierd serving", "hosts", addrs, "root", cfg.Root, "version", version.Version)
	if err := serveAll(ctx, srv, ls); err != nil {
		return err
	}
	log.Info("pierd stopped", "hosts", addrs)
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
