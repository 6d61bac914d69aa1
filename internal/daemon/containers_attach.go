package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/monitor"
)

// ContainerAttach calls fn for what the container writes from now until
// its next end (the end of this run if it runs, else of the coming start).
// It follows the log; ContainerAttachStreams is the live attach.
func (d *Daemon) ContainerAttach(ctx context.Context, ref string, fn func(logfile.Entry) error) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if r.State == container.StateExited {
		return fmt.Errorf("You cannot attach to a stopped container, start it first: %w", errdefs.ErrConflict)
	}
	w := d.exitOf(r.ID)
	return logfile.Read(ctx, d.paths(r.ID).log, logfile.ReadOptions{Tail: 0, Follow: true, Done: w.done}, fn)
}

// ContainerAttachStreams is Docker's attach. streams is called once the
// container is known, with whether it has a tty; it returns the client's
// stdin (nil: none) and where its stdout and stderr go (nil: not wanted).
// With logs the log so far is sent first. With stream the live output
// follows, from the monitor's attach socket, until the container ends,
// the client's stdin ends (unless StdinOnce without a tty: then the
// container's stdin closes and the output goes on) or the client types
// detachKeys. A container that does not run is attached at its next
// start, from its first byte.
func (d *Daemon) ContainerAttachStreams(ctx context.Context, ref string, logs, stream bool, detachKeys string,
	streams func(tty bool) (io.Reader, io.Writer, io.Writer, error)) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	keys, err := parseDetachKeys(detachKeys)
	if err != nil {
		return err
	}
	if r.State == container.StatePaused {
		return fmt.Errorf("container %s is paused, unpause the container before attach: %w", r.ID, errdefs.ErrConflict)
	}
	tty := r.Config != nil && r.Config.Tty
	var started <-chan struct{}
	if stream {
		var cancel func()
		started, cancel = d.awaitStart(r.ID)
		defer cancel()
	}
	stdin, stdout, stderr, err := streams(tty)
	if err != nil {
		return err
	}
	if logs {
		if err := d.replayLog(ctx, r.ID, stdout, stderr); err != nil {
			return err
		}
	}
	if !stream {
		return nil
	}
	a, err := d.attachRun(ctx, r.ID, started, attachFlags(stdin, stdout, stderr))
	if errors.Is(err, os.ErrNotExist) {
		// A monitor from before attach sockets: its output is in the log.
		return d.ContainerAttach(ctx, r.ID, func(e logfile.Entry) error { return writeEntry(e, stdout, stderr) })
	}
	if err != nil {
		return err
	}
	defer a.Close()
	stdinOnce := !tty && r.Config != nil && r.Config.StdinOnce
	return pump(a, &detachReader{r: orEmpty(stdin), keys: keys}, stdin != nil, stdinOnce, stdout, stderr)
}

// attachRun connects to the current run's monitor, or waits for the next
// start. started is from awaitStart.
func (d *Daemon) attachRun(ctx context.Context, id string, started <-chan struct{}, flags byte) (*monitor.Attachment, error) {
	var r containerRecord
	if err := d.md.Get(containerKind, id, &r); err != nil {
		return nil, err
	}
	path := d.attachSocket(id)
	if r.State == container.StateRunning {
		select {
		case <-started: // the start took our registration: it waits for us
			return dialAttach(ctx, path, flags)
		default:
		}
		a, err := monitor.Attach(path, flags)
		if err != nil && errors.Is(err, os.ErrNotExist) {
			return nil, os.ErrNotExist
		}
		return a, err
	}
	// Nothing tells a hijacked attach that its client left; a removed
	// container at least ends the wait.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-started:
			return dialAttach(ctx, path, flags)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
			if err := d.md.Get(containerKind, id, &r); errors.Is(err, errdefs.ErrNotFound) {
				return nil, fmt.Errorf("container %s: removed while attached: %w", id, err)
			}
		}
	}
}

func attachFlags(stdin io.Reader, stdout, stderr io.Writer) byte {
	var f byte
	if stdin != nil {
		f |= monitor.AttachStdin
	}
	if stdout != nil {
		f |= monitor.AttachStdout
	}
	if stderr != nil {
		f |= monitor.AttachStderr
	}
	return f
}

// pump copies the monitor's output to stdout and stderr and, if withStdin,
// stdin to the monitor, until the output ends or the input ends the
// attach (see ContainerAttachStreams).
func pump(a *monitor.Attachment, stdin io.Reader, withStdin, stdinOnce bool, stdout, stderr io.Writer) error {
	if withStdin {
		go func() {
			_, err := io.Copy(a, stdin)
			if err == nil && stdinOnce {
				_ = a.CloseStdin()
				return
			}
			// EOF without StdinOnce, the detach keys, or the client gone:
			// the attach ends, the container goes on.
			a.Close()
		}()
	}
	for {
		typ, p, err := a.Next()
		if err != nil {
			return nil // the output ended, or we did
		}
		w := stdout
		if typ == monitor.FrameStderr {
			w = stderr
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(p); err != nil {
			return nil // the client went away
		}
	}
}

// replayLog writes the log so far, for attach's logs=1.
func (d *Daemon) replayLog(ctx context.Context, id string, stdout, stderr io.Writer) error {
	err := logfile.Read(ctx, d.paths(id).log, logfile.ReadOptions{Tail: -1}, func(e logfile.Entry) error {
		return writeEntry(e, stdout, stderr)
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil // never started: no log yet
	}
	return err
}

func writeEntry(e logfile.Entry, stdout, stderr io.Writer) error {
	w := stdout
	if e.Stream == "stderr" {
		w = stderr
	}
	if w == nil {
		return nil
	}
	_, err := w.Write(e.Line)
	return err
}

func orEmpty(r io.Reader) io.Reader {
	if r == nil {
		return eofReader{}
	}
	return r
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// ContainerResize sets the size of a running container's terminal; for a
// container without one it does nothing, as dockerd.
func (d *Daemon) ContainerResize(ctx context.Context, ref string, height, width uint) error {
	r, err := d.lookup(ref)
	if err != nil {
		return err
	}
	if r.State != container.StateRunning {
		return fmt.Errorf("Container %s is not running: %w", r.ID, errdefs.ErrConflict)
	}
	if r.Config == nil || !r.Config.Tty {
		return nil
	}
	a, err := monitor.Attach(d.attachSocket(r.ID), 0)
	if err != nil {
		return fmt.Errorf("resize %s: %w", r.ID, err)
	}
	defer a.Close()
	return a.Resize(uint16(height), uint16(width))
}
