package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/trace"
)

// watch is the rest of a monitor's life once the container runs, in
// either image: it reaps the container's init, drains the log, deletes
// the container and writes its Status. With self, the launch image hands
// over to the watch image meanwhile.
func (m *monitor) watch(pid int, self []string) error {
	m.reap.pid = pid
	if self != nil {
		go m.handOverLoop(self)
	}
	st := Status{Pid: pid, StartedAt: m.startedAt}
	ws, werr := m.reap.wait()
	trace.Mark("monitor", "container exited")
	st.FinishedAt = time.Now().UTC()
	if werr != nil {
		st.ExitCode, st.Error = -1, werr.Error()
	} else {
		st.ExitCode = exitCode(ws)
	}
	if n, ok := oomKills(m.cfg.Cgroups); ok && n > m.oomBase {
		st.OOMKilled = true
	}
	// The log is complete before the status says the container ended, so
	// that whoever waits for the status reads every line.
	m.drain()
	trace.Mark("monitor", "log drained")
	errs := []error{werr, m.copyError()}
	if m.cfg.RuntimeExe != "" && !haveLibrary {
		// Returns only if the full monitor could not be executed.
		errs = append(errs, m.execFinish(st, errs))
		return m.finish(st, errs)
	}
	errs = append(errs, m.delete())
	trace.Mark("monitor", "deleted")
	return m.finish(st, errs)
}

// finish records the end: the Status, then the pid file's removal.
func (m *monitor) finish(st Status, errs []error) error {
	err := WriteStatus(m.cfg.StatusFile, st)
	trace.Mark("monitor", "status written")
	m.removeMonitorPid()
	return errors.Join(append(errs, err)...)
}

// delete deletes the container. The watch image opens the runtime only
// now: until the end it never touches the launch's code.
func (m *monitor) delete() error {
	if m.rt == nil {
		rt, err := m.cfg.containerRuntime()
		if err != nil {
			return m.runtimeErr(err)
		}
		m.rt = rt
	}
	return m.runtimeErr(m.rt.Delete(context.Background(), m.cfg.ID, true))
}

// resume rebuilds, in the watch image, what the launch image handed over:
// the log (reopened), the streams with their pending lines, the copiers,
// stdin and the attach hub.
func (m *monitor) resume(h handover) {
	if h.CopyErr != "" {
		m.copyErr = errors.New(h.CopyErr)
	}
	opts, err := logfile.ParseOptions(m.cfg.LogOptions)
	if err == nil {
		m.log, err = logfile.Open(m.cfg.LogPath, opts)
	}
	if err != nil && m.copyErr == nil {
		m.copyErr = err
	}
	for i, fd := range h.Readers {
		if fd < 0 {
			continue
		}
		name := [2]string{"stdout", "stderr"}[i]
		m.readers[i] = pollable(fd, name)
		if m.log != nil {
			m.streams[i] = logfile.NewStream(m.log, name)
			// No newline in it: it stays buffered, as it was.
			_, _ = m.streams[i].Write(h.Pending[i])
		}
		m.copiers.Add(1)
		go m.copy(m.streams[i], FrameStdout+byte(i), m.readers[i])
	}
	if m.cfg.Tty {
		m.master, m.stdin = m.readers[0], m.readers[0]
	} else if h.Stdin >= 0 {
		m.stdin = pollable(h.Stdin, "stdin")
	}
	m.stdinClosed = h.StdinClosed
	if h.Listener >= 0 {
		ln, err := fileListener(h.Listener)
		if err != nil {
			// Attaches end here; the log and the status do not.
			os.Stderr.WriteString("pier-monitor: " + err.Error() + "\n")
			return
		}
		m.hub = serveHub(m, ln)
	}
}

// pollable is an inherited fd as a file of the poller (deadlines, and a
// Close that interrupts a Read), close-on-exec again.
func pollable(fd int, name string) *os.File {
	unix.CloseOnExec(fd)
	_ = unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name)
}

// fileListener is the inherited attach listener.
func fileListener(fd int) (*net.UnixListener, error) {
	f := os.NewFile(uintptr(fd), "attach")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("attach listener: %w", err)
	}
	ln, ok := l.(*net.UnixListener)
	if !ok {
		l.Close()
		return nil, fmt.Errorf("attach listener: fd %d is not a unix socket", fd)
	}
	ln.SetUnlinkOnClose(false)
	return ln, nil
}
