// Command pier-buildkitd is pierd's BuildKit, in a process of its own:
// pierd starts it on the first build, proxies the API's /grpc, /session
// and version-2 builds to its private socket, and stops it when pierd
// stops (internal/buildkitd). It reaches pier's image store over pierd's
// store socket. It is not meant to be run by hand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/sirupsen/logrus"

	"github.com/pier-engine/pier/internal/buildkit"
	"github.com/pier-engine/pier/internal/server"
	"github.com/pier-engine/pier/internal/sys"
	"github.com/pier-engine/pier/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

type options struct {
	root, runtime, socket, store string
	parentFd                     int
	debug, version               bool
	// entitlements is a comma list; "" grants none.
	entitlements string
	gc           bool
	// Bytes; 0 unset.
	gcReserved, gcMaxUsed, gcMinFree int64
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("pier-buildkitd", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", "", "BuildKit's state directory (<pierd root>/buildkit)")
	fs.StringVar(&o.runtime, "runtime", "", "runc-compatible runtime RUN steps run through (pier-runtime)")
	fs.StringVar(&o.socket, "socket", "", "unix socket to serve pierd on")
	fs.StringVar(&o.store, "store", "", "pierd's image store socket")
	fs.IntVar(&o.parentFd, "parent-fd", 0, "read end of a pipe from pierd: its end stops this process")
	fs.BoolVar(&o.debug, "debug", false, "BuildKit's own log too")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.entitlements, "entitlements", "network.host", "what builds may ask for with --allow, comma-separated (network.host, security.insecure)")
	fs.BoolVar(&o.gc, "gc", true, "collect the build cache automatically")
	fs.Int64Var(&o.gcReserved, "gc-reserved-space", 0, "bytes of cache the collection keeps at least")
	fs.Int64Var(&o.gcMaxUsed, "gc-max-used-space", 0, "bytes of cache the collection keeps at most")
	fs.Int64Var(&o.gcMinFree, "gc-min-free-space", 0, "bytes of free disk the collection keeps")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.version {
		return o, nil
	}
	if o.root == "" || o.runtime == "" || o.socket == "" || o.store == "" {
		return o, errors.New("--root, --runtime, --socket and --store are required")
	}
	return o, nil
}

// entitlementList is --entitlements as a list (empty, not nil, for "").
func (o options) entitlementList() []string {
	out := []string{}
	for _, e := range strings.Split(o.entitlements, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// gcPolicy is the --gc flags' policy: nil (BuildKit's package default)
// when none is given, empty when collection is off.
func (o options) gcPolicy() []client.PruneInfo {
	if !o.gc {
		return []client.PruneInfo{}
	}
	if o.gcReserved == 0 && o.gcMaxUsed == 0 && o.gcMinFree == 0 {
		return nil
	}
	return []client.PruneInfo{{ReservedSpace: o.gcReserved, MaxUsedSpace: o.gcMaxUsed, MinFreeSpace: o.gcMinFree}}
}

func run(args []string) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pier-buildkitd:", err)
		return 2
	}
	if o.version {
		fmt.Println("pier-buildkitd version", version.Version)
		return 0
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "pier-buildkitd")
	// BuildKit logs through logrus; the JSON log is pier's.
	if !o.debug {
		logrus.SetOutput(io.Discard)
	}
	if err := serve(o, log); err != nil {
		log.Error("pier-buildkitd", "err", err)
		return 1
	}
	return 0
}

// stopTimeout is how long BuildKit gets to close; pierd kills this
// process a little later.
const stopTimeout = 10 * time.Second

func serve(o options, log *slog.Logger) error {
	// The handler stays for the process's life: a second signal during
	// the shutdown (pierd signals after closing the pipe) must not end
	// it before BuildKit is closed.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { <-sigs; stop() }()
	if o.parentFd > 0 {
		watchParent(o.parentFd, stop)
	}
	// pierd's environment is this process's: PIER_BUILDKIT_V2_HISTORY=1
	// on pierd records version-2 builds in BuildKit's history too.
	bk := buildkit.NewLazy(ctx, buildkit.Config{Root: o.root, Runtime: o.runtime, Store: o.store,
		V2History:    os.Getenv("PIER_BUILDKIT_V2_HISTORY") == "1",
		Entitlements: o.entitlementList(), GCPolicy: o.gcPolicy()})
	// pierd starts this process for a build: BuildKit starts now, and the
	// socket answers only once it runs.
	d, err := bk.Daemon()
	if err != nil {
		return err
	}
	if d.CacheDiscarded {
		log.Warn("build cache discarded: its databases were written unsynced before an unclean shutdown of the machine", "root", o.root)
	}
	defer closeBuildKit(bk, log)
	_ = os.Remove(o.socket) // one a killed predecessor left
	l, err := net.Listen("unix", o.socket)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.socket, err)
	}
	defer os.Remove(o.socket)
	if err := os.Chmod(o.socket, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("socket %s: %w", o.socket, err)
	}
	srv := &http.Server{Handler: newIdleTrim().wrap(server.NewBuildKitHandler(service{bk}, log)), ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		srv.Close()
		return nil
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", o.socket, err)
	}
}

// watchParent stops the process when pierd's end of the pipe at fd
// closes: pierd stopped, or died (a kill -9 included).
func watchParent(fd int, stop func()) {
	sys.CloseOnExec(fd) // RUN steps must not hold it
	f := os.NewFile(uintptr(fd), "parent")
	go func() {
		_, _ = io.Copy(io.Discard, f)
		stop()
	}()
}

// closeBuildKit closes BuildKit, giving up after stopTimeout.
func closeBuildKit(bk *buildkit.Lazy, log *slog.Logger) {
	log.Info("pier-buildkitd stopping")
	defer log.Info("pier-buildkitd stopped")
	done := make(chan error, 1)
	go func() { done <- bk.Close() }()
	select {
	case err := <-done:
		if err != nil {
			log.Warn("close buildkit", "err", err)
		}
	case <-time.After(stopTimeout):
		log.Warn("close buildkit: timed out")
	}
}
