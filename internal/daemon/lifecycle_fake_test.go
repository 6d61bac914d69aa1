package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/ociruntime"
)

// fakeOCI is both seams of runtime_seam.go in memory, so that the
// daemon's lifecycle runs without root, processes or mounts. A container's
// init is a channel closed when it "exits": on SIGKILL, on SIGTERM unless
// it ignores TERM, on its own (exit), or at once when its behaviour says
// so. A paused init keeps signals until it is resumed, as a frozen process
// does. Pids are above the kernel's largest pid_max (2^22), so that
// nothing the daemon reads from /proc can be a real process.
type fakeOCI struct {
	mu      sync.Mutex
	ctrs    map[string]*fakeInit // by container id; Guarded by mu.
	calls   []string             // the verbs, as "kill ID TERM"; Guarded by mu.
	behave  map[string]behaviour // Guarded by mu.
	mounted map[string]bool      // rootfs targets; Guarded by mu.
	nextPid int                  // Guarded by mu.
}

// behaviour is how a container's init acts on each of its runs.
type behaviour struct {
	ignoreTerm bool // only SIGKILL ends it
	exitAt     int  // > 0: it exits on its own with exitAt-1 once started
	failStart  error
}

// fakeInit is one run of a container.
type fakeInit struct {
	pid     int
	b       behaviour
	paused  bool
	pending []string // signals sent while paused
	ended   chan struct{}
	code    int
}

func newFakeOCI() *fakeOCI {
	return &fakeOCI{ctrs: map[string]*fakeInit{}, behave: map[string]behaviour{},
		mounted: map[string]bool{}, nextPid: 1 << 23}
}

// fakeDaemon is newContainerDaemon on the fake runtime, without the
// default busybox image, whose making is most of a test daemon's cost.
func fakeDaemon(t *testing.T) (*Daemon, *fakeOCI) {
	t.Helper()
	d := newContainerDaemon(t)
	f := newFakeOCI()
	d.seam = runtimeSeams{newRuntime: func(ociruntime.CLI) ociRuntime { return f }, launch: f}
	return d, f
}

func (f *fakeOCI) call(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// called returns the verbs called so far for id, with id left out.
func (f *fakeOCI) called(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.Contains(c, id) {
			out = append(out, strings.Join(strings.Fields(strings.ReplaceAll(c, id, "")), " "))
		}
	}
	return out
}

func (f *fakeOCI) set(id string, b behaviour) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behave[id] = b
}

// init is container id's current run; nil when it has none.
func (f *fakeOCI) init(id string) *fakeInit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ctrs[id]
}

// end makes the init exit with code; mu is held.
func (i *fakeInit) end(code int) {
	select {
	case <-i.ended:
	default:
		i.code = code
		close(i.ended)
	}
}

// exit makes container id's init exit on its own with code.
func (f *fakeOCI) exit(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctrs[id].end(code)
}

// --- launcher ---

func (f *fakeOCI) mountRootfs(id, target string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mounted[target] = true
	return nil
}

func (f *fakeOCI) unmountRootfs(target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mounted, target)
	return nil
}

func (f *fakeOCI) isMounted(target string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mounted[target]
}

// startMonitor does what pier-monitor does: create and start through the
// runtime, then, in wait, wait for the init, write the status and delete.
func (f *fakeOCI) startMonitor(configPath string, cfg monitor.Config) (monitorProc, error) {
	f.call("create %s", cfg.ID)
	f.mu.Lock()
	b := f.behave[cfg.ID]
	if b.failStart != nil {
		f.mu.Unlock()
		return monitorProc{}, fmt.Errorf("container %s: %w", cfg.ID, b.failStart)
	}
	f.nextPid++
	i := &fakeInit{pid: f.nextPid, b: b, ended: make(chan struct{})}
	f.ctrs[cfg.ID] = i
	f.mu.Unlock()
	f.call("start %s", cfg.ID)
	started := time.Now().UTC()
	if b.exitAt > 0 {
		f.exit(cfg.ID, b.exitAt-1)
	}
	wait := func() error {
		<-i.ended
		f.call("delete -f %s", cfg.ID)
		return monitor.WriteStatus(cfg.StatusFile, monitor.Status{
			Pid: i.pid, ExitCode: i.code, StartedAt: started, FinishedAt: time.Now().UTC()})
	}
	return monitorProc{pid: i.pid + 1<<20, containerPid: i.pid, wait: wait}, nil
}

// --- ociRuntime ---

// live is id's init if it runs; mu is held.
func (f *fakeOCI) live(id string) (*fakeInit, error) {
	i := f.ctrs[id]
	if i == nil {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	select {
	case <-i.ended:
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotRunning)
	default:
		return i, nil
	}
}

func (f *fakeOCI) Kill(ctx context.Context, id, sig string) error {
	f.call("kill %s %s", id, sig)
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.live(id)
	if err != nil {
		return err
	}
	sig = strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	switch sig {
	case "KILL", "9", "TERM", "15", "HUP", "1", "USR1", "INT", "2":
	default:
		return fmt.Errorf("kill %s %s: invalid signal: %w", id, sig, errdefs.ErrInvalidArgument)
	}
	if i.paused {
		i.pending = append(i.pending, sig)
		return nil
	}
	i.signal(sig)
	return nil
}

// signal acts on sig as the fake init does; mu is held.
func (i *fakeInit) signal(sig string) {
	switch {
	case sig == "KILL" || sig == "9":
		i.end(128 + 9)
	case (sig == "TERM" || sig == "15") && !i.b.ignoreTerm:
		i.end(128 + 15)
	}
}

func (f *fakeOCI) Pause(ctx context.Context, id string) error {
	f.call("pause %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.live(id)
	if err != nil {
		return err
	}
	i.paused = true
	return nil
}

func (f *fakeOCI) Resume(ctx context.Context, id string) error {
	f.call("resume %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.live(id)
	if err != nil {
		return err
	}
	if !i.paused {
		return fmt.Errorf("container %s is not paused: %w", id, errdefs.ErrConflict)
	}
	i.paused = false
	for _, s := range i.pending {
		i.signal(s)
	}
	i.pending = nil
	return nil
}

func (f *fakeOCI) Ps(ctx context.Context, id string) ([]int, error) {
	f.call("ps %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.live(id)
	if err != nil {
		return nil, err
	}
	return []int{i.pid}, nil
}

func (f *fakeOCI) Stats(ctx context.Context, id string, data any) error {
	f.call("events --stats %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.live(id); err != nil {
		return err
	}
	st := data.(*cgroups.Stats)
	st.Pids.Current, st.Memory.Usage = 1, 4096
	return nil
}

func (f *fakeOCI) Update(ctx context.Context, id string, r ociruntime.Resources) error {
	f.call("update %s %s", id, strings.Join(r.Flags(), " "))
	return nil
}

// Exec runs a fake process: "true" exits 0, "false" 1, "sleep" until
// killed, "echo" prints its arguments, "cat" copies stdin; anything else
// is not found (127). As with a real runtime, a container that refuses
// the exec (gone, paused) makes the runtime fail after it started: exit
// status 1, its message on stderr and no pid file.
func (f *fakeOCI) Exec(ctx context.Context, id string, o ociruntime.ExecOpts) (ociruntime.Process, error) {
	args := o.Process.Args
	f.call("exec %s %s", id, strings.Join(args, " "))
	f.mu.Lock()
	i, err := f.live(id)
	if err == nil && i.paused {
		err = fmt.Errorf("cannot exec in container %s: it is paused", id)
	}
	f.nextPid++
	pid := f.nextPid
	f.mu.Unlock()
	if err != nil {
		if o.Stderr != nil {
			fmt.Fprintln(o.Stderr, err)
		}
		p := &fakeProc{done: make(chan struct{}), killed: make(chan struct{}), code: 1}
		close(p.done)
		return p, nil
	}
	if o.PidFile != "" {
		if err := os.WriteFile(o.PidFile, []byte(strconv.Itoa(pid)), 0o600); err != nil {
			return nil, err
		}
	}
	p := &fakeProc{done: make(chan struct{}), killed: make(chan struct{})}
	go p.run(args, o.Stdout, o.Stdin)
	return p, nil
}

// fakeProc is a process Exec started.
type fakeProc struct {
	done, killed chan struct{}
	killOnce     sync.Once
	code         int
}

func (p *fakeProc) run(args []string, stdout io.Writer, stdin io.Reader) {
	defer close(p.done)
	switch args[0] {
	case "true":
	case "false":
		p.code = 1
	case "echo":
		if stdout != nil {
			fmt.Fprintln(stdout, strings.Join(args[1:], " "))
		}
	case "cat":
		if stdout != nil && stdin != nil {
			_, _ = io.Copy(stdout, stdin)
		}
	case "sleep":
		<-p.killed
		p.code = 128 + 9
	default:
		p.code = 127
	}
}

func (p *fakeProc) Wait() (int, error) {
	<-p.done
	return p.code, nil
}

func (p *fakeProc) Kill() {
	p.killOnce.Do(func() { close(p.killed) })
	<-p.done
}
