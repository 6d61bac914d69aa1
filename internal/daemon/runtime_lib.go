package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/runtime"
	"github.com/pier-engine/pier/internal/trace"
)

// hostRuntime is the real seam: pier-runtime as a library for exec
// (libRuntime), runc and crun through their command lines.
func hostRuntime(c ociruntime.CLI) ociRuntime {
	if c.Name != RuntimeName {
		return c
	}
	rt, err := runtime.New(c.Root, nil)
	if err != nil {
		return c // the CLI then reports the root's problem itself
	}
	rt.Exe = c.Path
	return libRuntime{CLI: c, rt: rt}
}

// libRuntime is pier-runtime driven from pierd's own process for exec and
// health probes: the process is started from pier-runtime's C preamble
// (runtime.Runtime.Exe) with no `pier-runtime exec` command in between,
// which saves a Go start per exec. The other verbs, rare and cheap next to
// a start, stay on the command line.
type libRuntime struct {
	ociruntime.CLI
	rt *runtime.Runtime
}

var _ ociRuntime = libRuntime{}

// Exec starts o.Process in container id as a child of pierd, in a process
// group of its own with o.Group. o.ProcessFile is not needed.
func (l libRuntime) Exec(_ context.Context, id string, o ociruntime.ExecOpts) (ociruntime.Process, error) {
	p := &libProcess{opts: o, done: make(chan struct{})}
	stdio, err := p.stdio()
	if err != nil {
		p.closeAll()
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	trace.Mark("pierd", "exec: stdio ready")
	pid, err := l.rt.Exec(id, runtime.ExecOpts{
		Process: o.Process, ConsoleSocket: o.ConsoleSocket, PidFile: o.PidFile,
		Stdio: stdio, Setpgid: o.Group,
	})
	for _, f := range p.childEnds {
		f.Close()
	}
	p.childEnds = nil
	if err != nil {
		// As the command line fails: status 1 and the reason on stderr,
		// so that an exec refused by the runtime (a paused container)
		// looks the same on both paths.
		p.closeAll()
		if o.Stderr != nil {
			fmt.Fprintf(o.Stderr, "%s: exec in %s: %v\n", RuntimeName, id, err)
		}
		return refused{}, nil
	}
	p.pid = pid
	return p, nil
}

// refused is an exec the runtime refused: it ended with status 1.
type refused struct{}

func (refused) Wait() (int, error) { return 1, nil }
func (refused) Kill()              {}

// libProcess is one process started by libRuntime.Exec.
type libProcess struct {
	pid  int
	opts ociruntime.ExecOpts
	// childEnds are the process's ends of the stdio pipes (and /dev/null),
	// closed once it has them; ours are the ends the copiers use.
	childEnds []*os.File
	ours      []*os.File
	copiers   sync.WaitGroup

	once sync.Once
	done chan struct{} // closed once the process is waited for
	code int
	err  error
}

// stdio makes the process's stdin, stdout and stderr: o's files as they
// are, /dev/null for nil, else a pipe with a copier, as os/exec does.
func (p *libProcess) stdio() ([3]*os.File, error) {
	var out [3]*os.File
	var err error
	if out[0], err = p.input(p.opts.Stdin); err != nil {
		return out, err
	}
	if out[1], err = p.output(p.opts.Stdout); err != nil {
		return out, err
	}
	// One writer for both streams gets one pipe, as os/exec does: two
	// copiers into one writer (a bytes.Buffer's ReadFrom) would race.
	if p.opts.Stderr != nil && sameWriter(p.opts.Stderr, p.opts.Stdout) {
		out[2] = out[1]
		return out, nil
	}
	out[2], err = p.output(p.opts.Stderr)
	return out, err
}

// sameWriter is os/exec's interfaceEqual: == that does not panic on
// values of incomparable types.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { _ = recover() }()
	return a == b
}

func (p *libProcess) input(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return f, nil
	}
	if r == nil {
		return p.devNull()
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	p.childEnds, p.ours = append(p.childEnds, pr), append(p.ours, pw)
	go func() {
		_, _ = io.Copy(pw, r)
		pw.Close()
	}()
	return pr, nil
}

func (p *libProcess) output(w io.Writer) (*os.File, error) {
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	if w == nil {
		return p.devNull()
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	p.childEnds, p.ours = append(p.childEnds, pw), append(p.ours, pr)
	p.copiers.Add(1)
	go func() {
		defer p.copiers.Done()
		_, _ = io.Copy(w, pr)
	}()
	return pw, nil
}

func (p *libProcess) devNull() (*os.File, error) {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	p.childEnds = append(p.childEnds, f)
	return f, nil
}

// closeAll closes every pipe end; the copiers then end.
func (p *libProcess) closeAll() {
	for _, f := range append(p.childEnds, p.ours...) {
		f.Close()
	}
	p.childEnds, p.ours = nil, nil
}

// Wait reaps the process, then waits for its output to be copied (at
// most opts.WaitDelay, when set: a process that left the group may hold
// the pipes) and returns its status as a shell shows it.
func (p *libProcess) Wait() (int, error) {
	p.once.Do(func() {
		p.code, p.err = runtime.Wait(p.pid)
		trace.Mark("pierd", "exec: process reaped")
		copied := make(chan struct{})
		go func() { p.copiers.Wait(); close(copied) }()
		var timeout <-chan time.Time
		if p.opts.WaitDelay > 0 {
			t := time.NewTimer(p.opts.WaitDelay)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-copied:
		case <-timeout:
			p.err = errors.Join(p.err, fmt.Errorf("exec process %d: output still open %v after its exit", p.pid, p.opts.WaitDelay))
		}
		p.closeAll()
		close(p.done)
	})
	<-p.done
	return p.code, p.err
}

// Kill ends the process, with its group when started with Group, and
// returns once it is waited for (or after killWait).
func (p *libProcess) Kill() {
	if p.opts.Group {
		runtime.KillGroup(p.pid)
	} else if proc, err := os.FindProcess(p.pid); err == nil {
		_ = proc.Kill()
	}
	go func() { _, _ = p.Wait() }()
	select {
	case <-p.done:
	case <-time.After(killWait):
	}
}

// killWait bounds Kill's wait for the killed process to be reaped.
const killWait = 2 * time.Second
