package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/trace"
)

// An exec's life, as dockerd's: ExecCreate records the config in memory
// (nothing runs); ExecStart runs it once through `pier-runtime exec`, in
// the foreground of a goroutine even when the client detached, so that
// ExecInspect can report its pid, whether it runs and its exit code.
// A record goes execKeep after the first inspect that saw its process
// exited (the docker CLI inspects once, for the exit code), or as soon as
// its container is gone (execTable.prune, run by each ExecCreate and by
// a lookup of an exec whose container is gone).

// execRecord is one exec; mu guards the fields below it.
type execRecord struct {
	id, containerID string
	cfg             container.ExecCreateRequest
	pidFile         string

	mu       sync.Mutex
	started  bool // Guarded by mu.
	running  bool // Guarded by mu.
	pid      int  // Guarded by mu.
	exitCode *int // Guarded by mu.
	// master is the pty master of a tty exec once the runtime sent it,
	// size the last resize asked for. Guarded by mu.
	master *os.File
	size   [2]uint
	// inspected is when an inspect first saw the process exited.
	// Guarded by mu.
	inspected time.Time
}

// execKeep is how long an exited exec answers inspects after the first
// one that reported its exit code: a client may ask again.
const execKeep = time.Minute

// prune drops the records whose exit was inspected more than execKeep
// before now, and those whose container alive says is gone. alive reads
// a record: it is asked without the table's lock held.
func (t *execTable) prune(now time.Time, alive func(containerID string) bool) {
	t.mu.Lock()
	ctrs := map[string]bool{}
	for id, e := range t.m {
		e.mu.Lock()
		done := !e.inspected.IsZero() && now.Sub(e.inspected) > execKeep
		e.mu.Unlock()
		if done {
			delete(t.m, id)
			continue
		}
		ctrs[e.containerID] = true
	}
	t.mu.Unlock()
	for c := range ctrs {
		ctrs[c] = !alive(c)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.m {
		if ctrs[e.containerID] {
			delete(t.m, id)
		}
	}
}

// containerAlive reports whether container id still exists.
func (d *Daemon) containerAlive(id string) bool {
	_, err := d.lookup(id)
	return !errors.Is(err, errdefs.ErrNotFound)
}

// execTable holds a daemon's execs by id, and the process of each
// container's spec that an exec started from.
type execTable struct {
	mu    sync.Mutex
	m     map[string]*execRecord // Guarded by mu.
	procs map[string]specProcess // Guarded by mu.
}

func (d *Daemon) execs() *execTable {
	d.execsOnce.Do(func() {
		d.execTable = &execTable{m: map[string]*execRecord{}, procs: map[string]specProcess{}}
	})
	return d.execTable
}

// specProcess is the process of a container's spec as decoded from the
// version of its config.json that stat describes.
type specProcess struct {
	stat os.FileInfo
	proc *specs.Process
}

// specProcess returns the process of container id's spec at path, the
// base of its execs. The spec is the largest file an exec reads (12 KB
// with its seccomp profile, ~0.2-1.5 ms to decode here), and it is the
// same for every exec of a run: it is decoded once per version of the
// file (same inode, size and time; a rewrite is a rename), and only its
// process. The result is shared: callers copy what they change
// (execProcess).
func (t *execTable) specProcess(id, path string) (*specs.Process, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("container %s: spec: %w", id, errors.Join(err, errdefs.ErrNotFound))
	}
	t.mu.Lock()
	c, ok := t.procs[id]
	t.mu.Unlock()
	if ok && sameFile(c.stat, fi) {
		return c.proc, nil
	}
	var spec struct {
		Process *specs.Process `json:"process"`
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil || spec.Process == nil {
		return nil, fmt.Errorf("container %s: spec: %w", id, errors.Join(err, errdefs.ErrNotFound))
	}
	t.mu.Lock()
	t.procs[id] = specProcess{stat: fi, proc: spec.Process}
	t.mu.Unlock()
	return spec.Process, nil
}

// sameFile reports whether a and b describe one version of one file.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// forgetContainer drops what the table keeps of container id, removed.
func (t *execTable) forgetContainer(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.procs, id)
	for eid, e := range t.m {
		if e.containerID == id {
			delete(t.m, eid)
		}
	}
}

// execGet finds exec id, if its container still exists.
func (d *Daemon) execGet(id string) (*execRecord, error) {
	e, err := d.execFind(id)
	if err != nil {
		return nil, err
	}
	if !d.containerAlive(e.containerID) {
		return nil, d.execs().drop(e)
	}
	return e, nil
}

// execFind finds exec id in the table without reading its container's
// record, for a caller that reads it next (and drop's the exec when it
// is gone).
func (d *Daemon) execFind(id string) (*execRecord, error) {
	t := d.execs()
	t.mu.Lock()
	e, ok := t.m[id]
	t.mu.Unlock()
	if !ok {
		return nil, errdefs.Newf(errdefs.ErrNotFound, "No such exec instance: %s", id)
	}
	return e, nil
}

// drop forgets exec e, whose container is gone, and returns the error
// that says so.
func (t *execTable) drop(e *execRecord) error {
	t.mu.Lock()
	if t.m[e.id] == e {
		delete(t.m, e.id)
	}
	t.mu.Unlock()
	return errdefs.Newf(errdefs.ErrNotFound, "No such exec instance: %s", e.id)
}

// ExecCreate records an exec of cfg.Cmd in the running container ref and
// returns its id; nothing runs until ExecStart.
func (d *Daemon) ExecCreate(ctx context.Context, ref string, cfg container.ExecCreateRequest) (string, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return "", err
	}
	if r.State != container.StateRunning {
		return "", fmt.Errorf("container %s is not running: %w", r.ID, errdefs.ErrConflict)
	}
	if len(cfg.Cmd) == 0 {
		return "", fmt.Errorf("No exec command specified: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := parseDetachKeys(cfg.DetachKeys); err != nil {
		return "", err
	}
	id := newContainerID()
	e := &execRecord{id: id, containerID: r.ID, cfg: cfg,
		pidFile: filepath.Join(d.paths(r.ID).run, "exec", id+".pid")}
	t := d.execs()
	t.prune(time.Now(), d.containerAlive)
	t.mu.Lock()
	t.m[id] = e
	t.mu.Unlock()
	return id, nil
}

// ExecStart runs exec id with stdin (nil: none) as its input and its
// output going to stdout and stderr (nil discards). Attached (detach
// false) it returns when the process has ended, or when the client types
// the exec's detach keys; detached, once it is started. A process that
// could not start ends with 126 (127: command not found), and the
// runtime's reason goes to stderr, as with dockerd.
func (d *Daemon) ExecStart(ctx context.Context, id string, detach bool, stdin io.Reader, stdout, stderr io.Writer) error {
	e, err := d.execFind(id) // execOpts reads the container's record
	if err != nil {
		return err
	}
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return fmt.Errorf("exec %s has already been started: %w", id, errdefs.ErrConflict)
	}
	e.started = true
	e.mu.Unlock()
	if detach || !e.cfg.AttachStdin {
		stdin = nil
	}
	if detach {
		stdout, stderr = nil, nil
	}
	if e.cfg.Tty {
		return d.execTty(e, detach, stdin, stdout)
	}
	rt, o, err := d.execOpts(e, "")
	if err != nil {
		e.end(126)
		return err
	}
	o.Stdout, o.Stderr = quiet(stdout), quiet(stderr)
	var detached <-chan struct{}
	if stdin != nil {
		var pr *os.File
		if pr, detached, err = e.stdinPipe(stdin); err != nil {
			e.end(126)
			return err
		}
		defer pr.Close()
		o.Stdin = pr
	}
	e.mu.Lock()
	e.running = true
	e.mu.Unlock()
	proc, err := rt.Exec(context.Background(), e.containerID, o)
	if err != nil {
		e.end(126)
		return fmt.Errorf("exec %s: %w", id, err)
	}
	if detach {
		go e.wait(proc)
		return nil
	}
	done := make(chan struct{})
	go func() { e.wait(proc); close(done) }()
	select {
	case <-done:
	case <-detached: // the process goes on without the client
	}
	return nil
}

// execOpts checks the container still runs and gives the runtime to
// exec e with and the process to start; consoleSocket receives a tty's
// master. The caller adds the stdio.
func (d *Daemon) execOpts(e *execRecord, consoleSocket string) (ociRuntime, ociruntime.ExecOpts, error) {
	var o ociruntime.ExecOpts
	r, err := d.lookup(e.containerID)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, o, d.execs().drop(e)
	}
	if err != nil {
		return nil, o, err
	}
	if r.State != container.StateRunning {
		return nil, o, fmt.Errorf("container %s is not running: %w", r.ID, errdefs.ErrConflict)
	}
	p := d.paths(r.ID)
	base, err := d.execs().specProcess(r.ID, p.config)
	if err != nil {
		return nil, o, err
	}
	trace.Mark("pierd", "exec: spec's process read")
	user, err := resolveExecUser(p.rootfs, e.cfg.User)
	if err != nil {
		return nil, o, fmt.Errorf("exec %s: %w", e.id, err)
	}
	dir := filepath.Dir(e.pidFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, o, fmt.Errorf("exec %s: %w", e.id, err)
	}
	o = ociruntime.ExecOpts{
		Process: execProcess(base, e.cfg, user), ProcessFile: filepath.Join(dir, e.id+".json"),
		PidFile: e.pidFile, ConsoleSocket: consoleSocket,
	}
	return d.runtimeOf(r.ID), o, nil
}

// wait reaps the runtime, whose exit status is the process's (128+N when
// the runtime itself was killed by signal N), and removes the exec's
// files.
func (e *execRecord) wait(p ociruntime.Process) {
	code, err := p.Wait()
	if err != nil || code < 0 {
		code = 126
	}
	if _, serr := os.Stat(e.pidFile); serr != nil && code != 0 {
		// The runtime failed before the process ran.
		code = 126
	}
	e.pidOf()
	_ = os.Remove(e.pidFile)
	e.end(code)
}

func (e *execRecord) end(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.running, e.exitCode = false, &code
}

// pidOf reads the pid the runtime wrote once the process started.
func (e *execRecord) pidOf() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pid == 0 && e.started {
		if b, err := os.ReadFile(e.pidFile); err == nil {
			e.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	return e.pid
}

// ExecInspect reports exec id.
func (d *Daemon) ExecInspect(ctx context.Context, id string) (container.ExecInspectResponse, error) {
	e, err := d.execGet(id)
	if err != nil {
		return container.ExecInspectResponse{}, err
	}
	pid := e.pidOf()
	e.mu.Lock()
	defer e.mu.Unlock()
	pc := &container.ExecProcessConfig{Tty: e.cfg.Tty, Entrypoint: e.cfg.Cmd[0], Arguments: e.cfg.Cmd[1:], User: e.cfg.User}
	if e.cfg.Privileged {
		pc.Privileged = &e.cfg.Privileged
	}
	resp := container.ExecInspectResponse{
		ID: e.id, ContainerID: e.containerID, Running: e.running, Pid: pid, ProcessConfig: pc,
		OpenStdout: e.cfg.AttachStdout, OpenStderr: e.cfg.AttachStderr, OpenStdin: e.cfg.AttachStdin,
		CanRemove: e.exitCode != nil,
	}
	if e.cfg.DetachKeys != "" {
		resp.DetachKeys, _ = parseDetachKeys(e.cfg.DetachKeys)
	}
	if e.exitCode != nil {
		c := *e.exitCode
		resp.ExitCode = &c
		if e.inspected.IsZero() {
			e.inspected = time.Now()
		}
	}
	return resp, nil
}
