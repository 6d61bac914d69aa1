package buildkitd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says what pier-buildkitd runs with.
type Config struct {
	// Exe is the pier-buildkitd binary.
	Exe string
	// Root is BuildKit's state directory (<pierd root>/buildkit).
	Root string
	// RunDir holds the two private sockets and the child's pid file
	// (<pierd root>/buildkitd); it is pierd's own, mode 0700.
	RunDir string
	// Runtime is the runc-compatible binary RUN steps run through.
	Runtime string
	// Images is pier's image store.
	Images Images
	// IdleTimeout stops the child once no connection to it has been open
	// that long (its cache stays on disk; the next request starts a new
	// one); 0 keeps it until pierd stops.
	IdleTimeout time.Duration
	// Entitlements are what builds may ask for with --allow
	// ("network.host", "security.insecure"); nil is the child's default,
	// network.host alone.
	Entitlements []string
	// GC is the build cache's collection; the zero value is the child's
	// default (keep it under 2 GB).
	GC GC
	// Debug passes --debug (BuildKit's own log) to the child.
	Debug bool
	// Stderr gets the child's log lines (pierd's own stderr).
	Stderr io.Writer
	Log    *slog.Logger
}

// GC is daemon.json's builder.gc, for the child. Sizes are in bytes,
// 0 unset.
type GC struct {
	Off                                       bool
	ReservedSpace, MaxUsedSpace, MinFreeSpace int64
}

// args are the child's flags for g.
func (g GC) args() []string {
	var a []string
	if g.Off {
		a = append(a, "--gc=false")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"--gc-reserved-space", g.ReservedSpace}, {"--gc-max-used-space", g.MaxUsedSpace}, {"--gc-min-free-space", g.MinFreeSpace}} {
		if f.v != 0 {
			a = append(a, f.name, strconv.FormatInt(f.v, 10))
		}
	}
	return a
}

// Files in RunDir.
const (
	childSocket = "buildkitd.sock" // the child's API, which pierd proxies to
	storeSocket = "store.sock"     // pierd's image store, for the child
	pidFile     = "pid"
)

// startTimeout bounds a child's start (BuildKit opens its databases,
// brings its worker up) until its socket answers.
const startTimeout = 2 * time.Minute

// stopTimeout is how long a stopping child gets to close BuildKit before
// it is killed.
const stopTimeout = 15 * time.Second

// Supervisor runs pier-buildkitd on demand. Its zero value is not
// usable; New makes one.
type Supervisor struct {
	cfg Config

	mu sync.Mutex
	// c is the running child, or nil. Guarded by mu.
	c *child
	// store serves the image store to children, from the first start
	// to Close. Guarded by mu.
	store *http.Server
	// closed refuses new starts. Guarded by mu.
	closed bool
	// active counts the open connections to the child. Guarded by mu.
	active int
	// idle fires IdleTimeout after the last connection closed. Guarded
	// by mu.
	idle *time.Timer
}

// child is one pier-buildkitd process.
type child struct {
	cmd *exec.Cmd
	// keep is the write end of the child's parent pipe: the child stops
	// when it closes, which also happens when pierd dies.
	keep *os.File
	done chan struct{} // closed once the child is reaped
	err  error         // its exit status, set before done closes
}

// New checks cfg and stops a pier-buildkitd that an earlier pierd on
// the same root left running (killed before its child could notice).
func New(cfg Config) (*Supervisor, error) {
	if cfg.Exe == "" || cfg.Root == "" || cfg.RunDir == "" || cfg.Runtime == "" || cfg.Images == nil {
		return nil, errors.New("buildkitd: Exe, Root, RunDir, Runtime and Images are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	s := &Supervisor{cfg: cfg}
	s.sweep()
	return s, nil
}

// HasState reports whether BuildKit ever ran on this root (its cache
// would then be on disk): /system/df starts no child otherwise.
func (s *Supervisor) HasState() bool {
	_, err := os.Stat(s.cfg.Root)
	return err == nil
}

// Started reports whether a child is running.
func (s *Supervisor) Started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c != nil && !s.c.exited()
}

// Dial opens a connection to pier-buildkitd's API, starting the child if
// none runs (the first build, or the first after a crash or an idle
// stop). The child is not stopped for idleness while the connection is
// open.
func (s *Supervisor) Dial(ctx context.Context) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLocked(ctx); err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(s.cfg.RunDir, childSocket))
	if err != nil {
		return nil, fmt.Errorf("dial pier-buildkitd: %w", err)
	}
	s.active++
	if s.idle != nil {
		s.idle.Stop()
	}
	return &trackedConn{Conn: conn, release: s.release}, nil
}

// trackedConn tells the supervisor when it closes.
type trackedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// release counts a closed connection, and arms the idle stop after the
// last one.
func (s *Supervisor) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active > 0 || s.cfg.IdleTimeout <= 0 || s.closed {
		return
	}
	if s.idle == nil {
		s.idle = time.AfterFunc(s.cfg.IdleTimeout, s.stopIdle)
		return
	}
	s.idle.Reset(s.cfg.IdleTimeout)
}

// stopIdle stops a child nobody has used for IdleTimeout. It holds mu
// throughout, so that a request arriving meanwhile waits for the stop
// and then starts a new child instead of dialling a stopping one.
func (s *Supervisor) stopIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active > 0 || s.c == nil || s.closed {
		return
	}
	c := s.c
	s.c = nil
	s.cfg.Log.Info("pier-buildkitd idle; stopping it", "pid", c.cmd.Process.Pid, "idle", s.cfg.IdleTimeout.String())
	s.stopChild(c)
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// ensureLocked starts a child unless one is running.
func (s *Supervisor) ensureLocked(ctx context.Context) error {
	if s.closed {
		return errors.New("pier-buildkitd: pierd is stopping")
	}
	if s.c != nil && !s.c.exited() {
		return nil
	}
	s.c = nil
	if err := os.MkdirAll(s.cfg.RunDir, 0o700); err != nil {
		return fmt.Errorf("buildkitd run dir: %w", err)
	}
	if err := s.serveStoreLocked(); err != nil {
		return err
	}
	c, err := s.start()
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx, c); err != nil {
		s.stopChild(c)
		return err
	}
	s.c = c
	return nil
}

// serveStoreLocked starts the image store's socket once.
func (s *Supervisor) serveStoreLocked() error {
	if s.store != nil {
		return nil
	}
	p := filepath.Join(s.cfg.RunDir, storeSocket)
	_ = os.Remove(p) // a socket a killed pierd left
	l, err := net.Listen("unix", p)
	if err != nil {
		return fmt.Errorf("buildkitd store socket: %w", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("buildkitd store socket: %w", err)
	}
	srv := &http.Server{Handler: newStoreHandler(s.cfg.Images, s.cfg.Root), ReadHeaderTimeout: 10 * time.Second}
	s.store = srv
	go func() { _ = srv.Serve(l) }() // ends with Close
	return nil
}

// start runs a child, and a goroutine that reaps it; it returns once the
// child runs.
func (s *Supervisor) start() (*child, error) {
	sock := filepath.Join(s.cfg.RunDir, childSocket)
	_ = os.Remove(sock)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pier-buildkitd pipe: %w", err)
	}
	defer r.Close()
	args := []string{"--root", s.cfg.Root, "--runtime", s.cfg.Runtime, "--socket", sock,
		"--store", filepath.Join(s.cfg.RunDir, storeSocket), "--parent-fd", "3"}
	if s.cfg.Debug {
		args = append(args, "--debug")
	}
	if s.cfg.Entitlements != nil {
		args = append(args, "--entitlements", strings.Join(s.cfg.Entitlements, ","))
	}
	args = append(args, s.cfg.GC.args()...)
	cmd := exec.Command(s.cfg.Exe, args...)
	cmd.Stdout, cmd.Stderr = s.cfg.Stderr, s.cfg.Stderr
	cmd.ExtraFiles = []*os.File{r}
	c := &child{cmd: cmd, keep: w, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
		s.reaped(c)
	}()
	if err := <-started; err != nil {
		w.Close()
		return nil, fmt.Errorf("start %s: %w", s.cfg.Exe, err)
	}
	if err := os.WriteFile(filepath.Join(s.cfg.RunDir, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		s.stopChild(c)
		return nil, fmt.Errorf("pier-buildkitd pid file: %w", err)
	}
	s.cfg.Log.Info("pier-buildkitd started", "pid", cmd.Process.Pid)
	return c, nil
}

// reaped reports a child that ended on its own: the next request starts
// a new one.
func (s *Supervisor) reaped(c *child) {
	c.keep.Close()
	s.mu.Lock()
	crashed := s.c == c && !s.closed
	s.mu.Unlock()
	if crashed {
		_ = os.Remove(filepath.Join(s.cfg.RunDir, pidFile))
		s.cfg.Log.Error("pier-buildkitd exited; the next build starts it again", "pid", c.cmd.Process.Pid, "err", c.err)
	}
}

// waitReady waits until the child's socket accepts a connection.
func (s *Supervisor) waitReady(ctx context.Context, c *child) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sock := filepath.Join(s.cfg.RunDir, childSocket)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("pier-buildkitd exited while starting: %v", c.err)
		case <-ctx.Done():
			return fmt.Errorf("pier-buildkitd start: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// stopChild closes the child's parent pipe (it then closes BuildKit and
// exits), and kills it if it has not after stopTimeout.
func (s *Supervisor) stopChild(c *child) {
	c.keep.Close()
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		s.cfg.Log.Warn("pier-buildkitd did not stop; killing it", "pid", c.cmd.Process.Pid)
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = os.Remove(filepath.Join(s.cfg.RunDir, pidFile))
	s.cfg.Log.Info("pier-buildkitd stopped", "pid", c.cmd.Process.Pid, "status", exitStatus(c.err))
}

// exitStatus is how a child ended, for the log.
func exitStatus(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// Close stops the child, if one runs, and the store socket.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	s.closed = true
	c, store := s.c, s.store
	s.c, s.store = nil, nil
	if s.idle != nil {
		s.idle.Stop()
	}
	s.mu.Unlock()
	if c != nil {
		s.stopChild(c)
	}
	var err error
	if store != nil {
		err = store.Close()
	}
	for _, f := range []string{childSocket, storeSocket} {
		_ = os.Remove(filepath.Join(s.cfg.RunDir, f))
	}
	return err
}
