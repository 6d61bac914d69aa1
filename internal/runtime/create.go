package runtime

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/hooks"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/trace"
)

// CreateOpts are the inputs of `create` (and of `run`).
type CreateOpts struct {
	ID            string
	Bundle        string
	ConsoleSocket string
	PidFile       string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFds   int
	// ExtraFiles follow the preserved fds in the container (fds
	// 3+PreserveFds, ...): files of a caller that drives the runtime in
	// its own process, where fd numbers are not its to choose.
	ExtraFiles []*os.File
	// Stdio for the container; nil entries mean the runtime's own.
	Stdio [3]*os.File

	spec *specs.Spec // already loaded from Bundle (by Run), or nil
}

// Container is a created container as the caller of Create sees it.
type Container struct {
	ID  string
	Pid int
}

// Create builds the container up to the point where only the user's program
// is left to start. A failure undoes every step: no state directory,
// cgroup, process or mount remains.
func (r *Runtime) Create(o CreateOpts) (_ *Container, err error) {
	t0 := time.Now()
	trace.Mark("runtime", "create")
	rec, err := newRecord(o)
	if err != nil {
		return nil, err
	}
	trace.Mark("runtime", "config read and validated")
	var undo cleanup
	unlock := func() {}
	defer func() {
		if err != nil {
			err = errors.Join(err, undo.Run())
		}
		unlock() // after the undo: no one sees the half-made container
	}()
	fifo, err := r.makeStateDir(rec, &undo)
	if err != nil {
		return nil, err
	}
	defer fifo.Close()
	if unlock, err = r.lock(rec.ID); err != nil {
		return nil, err
	}
	r.Log.Debug("validated", "container_id", o.ID, "elapsed", time.Since(t0))
	trace.Mark("runtime", "state dir, exec fifo, lock")
	cg, err := r.cgroup(rec)
	if err != nil {
		return nil, err
	}
	undo.Add(cg.Destroy)
	opts, cfg, err := createSpawnOpts(rec, o, fifo)
	defer opts.closeExtra()
	if err != nil {
		return nil, err
	}
	opts.cgroup, opts.exe = cg, r.Exe
	pp, err := chooseInit(opts, cfg, rec.Spec, r.filterOf(rec))
	if err != nil {
		return nil, err
	}
	c, err := spawn(opts)
	if err != nil {
		return nil, err
	}
	defer c.sock.Close()
	undo.Add(func() error { killWait(c.pid); return nil })
	r.Log.Debug("spawned", "container_id", o.ID, "pid", c.pid, "elapsed", time.Since(t0))
	rec.Pid = c.pid
	if rec.PidStartTime, _, err = procStat(c.pid); err != nil {
		return nil, fmt.Errorf("container process %d: %w", c.pid, err)
	}
	if pp != nil {
		err = r.initContainerC(c, rec, cfg, pp)
	} else {
		err = r.initContainer(c, rec, cfg)
	}
	if err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, c.pid); err != nil {
			return nil, err
		}
	}
	undo.Release()
	trace.Mark("runtime", "created")
	r.Log.Debug("created", "container_id", o.ID, "pid", c.pid, "elapsed", time.Since(t0))
	return &Container{ID: o.ID, Pid: c.pid}, nil
}

// newRecord checks everything about a create that can be checked before
// anything is made.
func newRecord(o CreateOpts) (*Record, error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", o.Bundle, err)
	}
	spec := o.spec
	if spec == nil {
		if spec, err = LoadSpec(bundle); err != nil {
			return nil, err
		}
	}
	rootfs, filter, err := validate(spec, bundle)
	if err != nil {
		return nil, err
	}
	if spec.Process != nil && spec.Process.Terminal && o.ConsoleSocket == "" {
		return nil, fmt.Errorf("process.terminal is true but no --console-socket was given: %w", errdefs.ErrInvalidArgument)
	}
	return &Record{ID: o.ID, Bundle: bundle, Rootfs: rootfs, Created: time.Now().UTC(), Owner: owner(), Spec: spec, filter: filter}, nil
}

// makeStateDir makes the container's state directory, claiming its id,
// and the exec fifo in it.
func (r *Runtime) makeStateDir(rec *Record, undo *cleanup) (*os.File, error) {
	dir := r.dir(rec.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %s: %w", rec.ID, errdefs.ErrAlreadyExists)
		}
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	undo.Add(func() error { return os.RemoveAll(dir) })
	return makeFifo(filepath.Join(dir, fifoName))
}

// createSpawnOpts gathers what the container process inherits and the
// config it is sent. The caller closes opts' extra files once spawned.
func createSpawnOpts(rec *Record, o CreateOpts, fifo *os.File) (*spawnOpts, *syncmsg.InitConfig, error) {
	spec := rec.Spec
	opts := &spawnOpts{
		stdio:     o.Stdio,
		bootstrap: createBootstrap(spec.Linux),
		uidMaps:   spec.Linux.UIDMappings,
		gidMaps:   spec.Linux.GIDMappings,
	}
	cfg := &syncmsg.InitConfig{
		ID: rec.ID, Bundle: rec.Bundle, Rootfs: rec.Rootfs, Spec: spec, Process: spec.Process,
		NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring, PreserveFds: o.PreserveFds + len(o.ExtraFiles),
		UserNS:        hasNamespace(spec, specs.UserNamespace), // new or joined: devices are bound, not made
		NewCgroupNS:   hasNewNamespace(spec, specs.CgroupNamespace),
		SharedMountNS: !hasNamespace(spec, specs.MountNamespace),
		FifoFd:        -1, ConsoleFd: -1, CgroupNSFd: -1,
	}
	var err error
	if opts.preserve, err = inheritedFds(o.PreserveFds); err != nil {
		return opts, nil, err
	}
	opts.preserve = append(opts.preserve, o.ExtraFiles...)
	cfg.FifoFd = opts.addExtra(fifo, false)
	if spec.Process != nil && spec.Process.Terminal {
		conn, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return opts, nil, err
		}
		cfg.ConsoleFd = opts.addExtra(conn, true)
	}
	nsf, err := cgroupNSFile(namespacePath(spec, specs.CgroupNamespace))
	if err != nil {
		return opts, nil, err
	}
	if nsf != nil {
		cfg.CgroupNSFd = opts.addExtra(nsf, true)
	}
	return opts, cfg, nil
}

// initContainer drives the container process through its setup: config,
// the runtime-namespace hooks at the right moment, then ready.
func (r *Runtime) initContainer(c *child, rec *Record, cfg *syncmsg.InitConfig) error {
	state := creatingState(rec)
	cfg.State = state
	if err := c.conn.Send(syncmsg.Message{Type: syncmsg.TypeConfig, Config: cfg}); err != nil {
		return err
	}
	rec.Creating = true
	if err := r.save(rec); err != nil {
		return err
	}
	trace.Mark("runtime", "config sent, state saved")
	if _, err := c.conn.Expect(syncmsg.TypeHooks); err != nil {
		return fmt.Errorf("container setup: %w", err)
	}
	trace.Mark("runtime", "mounts done (hooks point)")
	if h := rec.Spec.Hooks; h != nil {
		if err := hooks.Run("createRuntime", h.CreateRuntime, state); err != nil {
			return err
		}
	}
	if err := c.conn.Send(syncmsg.Message{Type: syncmsg.TypeContinue}); err != nil {
		return err
	}
	if _, err := c.conn.Expect(syncmsg.TypeReady); err != nil {
		return fmt.Errorf("container setup: %w", err)
	}
	trace.Mark("runtime", "container ready")
	return r.setLimits(rec)
}

// setLimits applies the config's resources once the container is ready.
func (r *Runtime) setLimits(rec *Record) error {
	// Limits go on now, as runc sets them at ready: until here the process
	// was pier-runtime's Go init, which a small pids limit would starve of
	// threads. The program runs only at start, under them.
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	if err := cg.Set(effectiveResources(rec.Spec)); err != nil {
		return err
	}
	trace.Mark("runtime", "cgroup limits set")
	rec.Creating = false
	rec.Exec = encodeExecRecord(rec)
	return r.save(rec)
}

func creatingState(rec *Record) *specs.State {
	state := &specs.State{Version: specs.Version, ID: rec.ID, Status: StatusCreating, Pid: rec.Pid, Bundle: rec.Bundle}
	if rec.Spec.Annotations != nil {
		state.Annotations = rec.Spec.Annotations
	}
	return state
}

func makeFifo(path string) (*os.File, error) {
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("mkfifo %s: %w", path, err)
	}
	// Read-write, so the open does not block and the container process
	// holds a reader until it execs; start then sees POLLERR.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}

func inheritedFds(n int) ([]*os.File, error) {
	var out []*os.File
	for i := 0; i < n; i++ {
		fd := 3 + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, fmt.Errorf("--preserve-fds %d: fd %d is not open: %w", n, fd, err)
		}
		out = append(out, os.NewFile(uintptr(fd), "preserved-"+strconv.Itoa(fd)))
	}
	return out, nil
}

func dialConsole(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	return f, nil
}

func writePidFile(path string, pid int) error {
	if err := atomicfile.WriteVolatile(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// owner is the state's owner field: empty for root, like runc, else the
// uid (a name lookup would cost an NSS round trip on every create).
func owner() string {
	if uid := os.Getuid(); uid != 0 {
		return strconv.Itoa(uid)
	}
	return ""
}

// namespacePath is the path a config gives for joining a namespace, or "".
func namespacePath(spec *specs.Spec, t specs.LinuxNamespaceType) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path
		}
	}
	return ""
}

func hasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func hasNewNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}
