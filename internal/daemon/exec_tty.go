package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/monitor"
)

// An exec with a tty runs like the others (`pier-runtime exec` in the
// foreground of a goroutine), with a console socket from which pierd takes
// the pty master: pierd copies it to the client and the client's stdin to
// it. Unlike a container's terminal, it is not the monitor's: an exec dies
// with pierd, as it does with dockerd's shim gone.

// execTty runs tty exec e; see ExecStart.
func (d *Daemon) execTty(e *execRecord, detach bool, stdin io.Reader, stdout io.Writer) error {
	con, err := monitor.NewConsole()
	if err != nil {
		e.end(126)
		return err
	}
	rt, o, err := d.execOpts(e, con.Path)
	if err != nil {
		con.Close()
		e.end(126)
		return err
	}
	// The runtime's own failure is the client's to read, as without a tty.
	o.Stdout, o.Stderr = quiet(stdout), quiet(stdout)
	e.mu.Lock()
	e.running = true
	e.mu.Unlock()
	proc, err := rt.Exec(context.Background(), e.containerID, o)
	if err != nil {
		con.Close()
		e.end(126)
		return fmt.Errorf("exec %s: %w", e.id, err)
	}
	master := make(chan *os.File, 1)
	go func() {
		defer con.Close()
		f, err := con.Receive(consoleWait)
		if err != nil {
			f = nil // the runtime failed first: its exit status tells
		}
		master <- f
	}()
	done, detached := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if m := <-master; m != nil {
			e.setMaster(m)
			if stdin != nil {
				go e.feed(stdin, m, detached)
			}
			_, _ = io.Copy(quiet(stdout), m) // until the pty's EIO
			e.setMaster(nil)
			m.Close()
		}
		e.wait(proc)
	}()
	if detach {
		return nil
	}
	select {
	case <-done:
	case <-detached: // the process goes on without the client
	}
	return nil
}

// consoleWait bounds the wait for the runtime's pty master.
const consoleWait = 30 * time.Second

// setMaster records the exec's pty master (nil once it is closed) and
// gives it the size asked for before it came.
func (e *execRecord) setMaster(m *os.File) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.master = m
	if m != nil && e.size != [2]uint{} {
		_ = monitor.Resize(m, uint16(e.size[0]), uint16(e.size[1]))
	}
}

// feed copies the client's stdin, less the exec's detach keys, to w;
// detached closes if the client types them.
func (e *execRecord) feed(stdin io.Reader, w io.Writer, detached chan struct{}) {
	keys, err := parseDetachKeys(e.cfg.DetachKeys)
	if err != nil {
		keys, _ = parseDetachKeys("")
	}
	if _, err := io.Copy(w, &detachReader{r: stdin, keys: keys}); errors.Is(err, errDetached) {
		close(detached)
	}
}

// stdinPipe is a non-tty exec's stdin: a pipe fed from the client, so that
// the process's end does not wait for the client's next byte (as
// exec.Cmd would with a plain reader). The caller closes the read end
// once the process has it; detached closes if the client types the
// detach keys.
func (e *execRecord) stdinPipe(stdin io.Reader) (*os.File, <-chan struct{}, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("exec %s: stdin pipe: %w", e.id, err)
	}
	detached := make(chan struct{})
	go func() {
		e.feed(stdin, pw, detached)
		pw.Close() // the client's EOF is the process's
	}()
	return pr, detached, nil
}

// ExecResize sets the size of exec id's terminal, now or, if the runtime
// has not sent it yet, when it arrives. An exec without one ignores it.
func (d *Daemon) ExecResize(ctx context.Context, id string, height, width uint) error {
	e, err := d.execGet(id)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.size = [2]uint{height, width}
	if e.master == nil {
		return nil
	}
	return monitor.Resize(e.master, uint16(height), uint16(width))
}

// quiet passes writes to w until one fails, then drops them: a client
// gone must not block the process on a full pipe or pty.
func quiet(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return &quietWriter{w: w}
}

type quietWriter struct {
	mu     sync.Mutex
	w      io.Writer
	failed bool
}

func (q *quietWriter) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.failed {
		if _, err := q.w.Write(p); err != nil {
			q.failed = true
		}
	}
	return len(p), nil
}
