package monitor

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/ociruntime"
)

// AttachWaitTimeout bounds how long a start waits for Config.AttachWait
// clients: a client that attached and went away must not hold it forever.
const AttachWaitTimeout = 5 * time.Second

// consoleTimeout bounds the wait for the runtime's pty master.
const consoleTimeout = 30 * time.Second

// createTty runs the runtime's create with a console socket: the runtime
// sends the pty master, whose slave is the container's stdio. The master
// is copied to the log as stdout and takes the clients' stdin.
func (m *monitor) createTty() error {
	con, err := NewConsole()
	if err != nil {
		return err
	}
	type received struct {
		f   *os.File
		err error
	}
	got := make(chan received, 1)
	go func() {
		f, err := con.Receive(consoleTimeout)
		got <- received{f, err}
	}()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		con.Close()
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer null.Close()
	runErr := m.rt.Create(context.Background(), m.cfg.ID, ociruntime.CreateOpts{
		Bundle: m.cfg.Bundle, PidFile: m.cfg.PidFile, ConsoleSocket: con.Path, Stdin: null, Stdout: null, Stderr: null,
		ExtraFiles: m.readyFiles(),
	})
	// A failed create sends nothing: closing ends the wait. After a good
	// create the master is on its way (the init sends it before ready), but
	// it may still sit in the listener's queue: closing first would drop it
	// (seen on a loaded machine), so the wait ends on its own.
	if runErr != nil {
		con.Close()
	}
	r := <-got
	con.Close()
	if runErr != nil || r.err != nil {
		if r.f != nil {
			r.f.Close()
		}
		err := r.err
		if runErr != nil {
			err = m.runtimeErr(runErr)
		}
		m.abort(0)
		return err
	}
	m.master, m.stdin = r.f, r.f
	m.readers[0] = r.f
	m.streams[0] = logfile.NewStream(m.log, "stdout")
	m.copiers.Add(1)
	go m.copy(m.streams[0], FrameStdout, r.f)
	return nil
}

// stdinPipe is the runtime's stdin for create: /dev/null, or with
// OpenStdin the read end of a pipe whose write end m.stdin keeps. The
// caller closes the returned file once the runtime has it.
func (m *monitor) stdinPipe() (*os.File, error) {
	if !m.cfg.OpenStdin {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		return f, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe for stdin: %w", err)
	}
	m.stdin = w
	return r, nil
}

// writeStdin gives p to the container. It blocks while the container does
// not read, which holds only the writing client.
func (m *monitor) writeStdin(p []byte) {
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	if m.stdin != nil && !m.stdinClosed {
		_, _ = m.stdin.Write(p)
	}
}

// stdinEnded is a stdin-attached client's end (its EOF or its going
// away): with StdinOnce the container's stdin closes, as Docker's does.
// A terminal is never closed: a client ends its input with ^D instead.
func (m *monitor) stdinEnded() {
	if m.cfg.StdinOnce && !m.cfg.Tty {
		m.closeStdin()
	}
}

func (m *monitor) closeStdin() {
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	if m.stdin != nil && !m.stdinClosed && m.stdin != m.master {
		m.stdin.Close()
	}
	m.stdinClosed = true
}

// resize sets the terminal's size; without a tty there is none.
func (m *monitor) resize(rows, cols uint16) {
	if m.master != nil {
		_ = Resize(m.master, rows, cols)
	}
}
