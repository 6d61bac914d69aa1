package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/trace"
)

// DrainGrace bounds how long the monitor waits, after the container's init
// has exited, for its output pipes to reach EOF. A process that escaped
// the container (no PID namespace) may hold them open forever.
const DrainGrace = 2 * time.Second

// copyBuf is each copier's read size. Small on purpose: it is per
// container memory, and logfile.Stream already buffers a line (16 KiB).
const copyBuf = 4 << 10

// monitor is the state of one Run.
type monitor struct {
	cfg     Config
	rt      containerRuntime
	log     *logfile.Writer
	streams [2]*logfile.Stream
	readers [2]*os.File
	copiers sync.WaitGroup
	// copyErr is the first error writing the log. Guarded by copyMu.
	copyMu  sync.Mutex
	copyErr error

	// hub serves the attach socket; nil without Config.AttachSocket.
	hub *hub
	// master is the pty's master with Config.Tty.
	master *os.File
	// stdin is what the container reads: the pty master or the write end
	// of its stdin pipe; nil without a tty or OpenStdin. Guarded by stdinMu.
	stdinMu     sync.Mutex
	stdin       *os.File
	stdinClosed bool

	// reap waits for the container's init; startedAt and oomBase are the
	// start's time and oom_kill count, for its Status.
	reap      reaper
	startedAt time.Time
	oomBase   uint64
	// fullExe and self, in the watch binary, are the full monitor's binary
	// and the launch's command line, for the delete (finish.go).
	fullExe string
	self    []string

	// ready is the readiness pipe's write end (Config.ReadyFD) until
	// closeReady.
	ready *os.File
}

// Run is the monitor's whole life: it becomes a child subreaper in its own
// session, creates and starts the container with pipes as its stdout and
// stderr, reports the container's pid on cfg.SyncFD, copies the pipes into
// the json-file log, waits for the container's init, writes the Status,
// deletes the container and returns. With self, its own command line, it
// re-executes itself into its watch image once the container has run for
// a while (handover.go); without, it keeps this image to the end.
func Run(cfg Config, self []string) error {
	rt, err := cfg.containerRuntime()
	if err != nil {
		report(cfg.SyncFD, 0, err)
		m := &monitor{cfg: cfg}
		m.removeMonitorPid()
		return err
	}
	m := &monitor{cfg: cfg, rt: rt}
	pid, startedAt, err := m.launch()
	report(cfg.SyncFD, pid, err)
	if err != nil {
		m.drain()
		m.removeMonitorPid()
		return err
	}
	if self == nil { // no watch image to leave the launch's garbage behind
		freeLaunchHeap()
	}
	m.startedAt = startedAt
	return m.watch(pid, self)
}

// launch runs the steps up to the container's start. It reads the
// oom_kill base after create (the runtime makes the cgroup) and before
// start (nothing has run yet).
func (m *monitor) launch() (pid int, startedAt time.Time, err error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 0, startedAt, fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err)
	}
	// pierd may already have made us a session leader (EPERM then).
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		return 0, startedAt, fmt.Errorf("setsid: %w", err)
	}
	if m.cfg.MonitorPidFile != "" {
		if err := atomicfile.WriteVolatile(m.cfg.MonitorPidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return 0, startedAt, err
		}
	}
	opts, err := logfile.ParseOptions(m.cfg.LogOptions)
	if err != nil {
		return 0, startedAt, err
	}
	if m.log, err = logfile.Open(m.cfg.LogPath, opts); err != nil {
		return 0, startedAt, err
	}
	if m.cfg.AttachSocket != "" {
		if m.hub, err = newHub(m, m.cfg.AttachSocket); err != nil {
			return 0, startedAt, err
		}
	}
	create := m.create
	if m.cfg.Tty {
		create = m.createTty
	}
	trace.Mark("monitor", "log, attach socket")
	err = create()
	m.closeReady() // the container's init holds it now, or nobody does
	if err != nil {
		return 0, startedAt, err
	}
	trace.Mark("monitor", "created")
	if pid, err = ReadPid(m.cfg.PidFile); err != nil {
		m.abort(0)
		return 0, startedAt, err
	}
	if m.cfg.StartGate != "" {
		if err := waitGate(m.cfg.StartGate); err != nil {
			m.abort(pid)
			return 0, startedAt, err
		}
		trace.Mark("monitor", "start gate opened")
	}
	if m.hub != nil && m.cfg.AttachWait > 0 {
		m.hub.waitClients(m.cfg.AttachWait, AttachWaitTimeout)
	}
	// Read here, not after the start: a container killed for memory at
	// once must not count in its own base.
	m.oomBase, _ = oomKills(m.cfg.Cgroups)
	if err := m.runtimeErr(m.rt.Start(context.Background(), m.cfg.ID)); err != nil {
		m.abort(pid)
		return 0, startedAt, err
	}
	trace.Mark("monitor", "started")
	return pid, time.Now().UTC(), nil
}

// create runs the runtime's create with the log pipes as its stdout and
// stderr, and as stdin /dev/null or, with OpenStdin, a pipe whose write
// end we keep; the runtime hands them on to the container.
func (m *monitor) create() error {
	var writers [2]*os.File
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.Close()
			}
		}
	}()
	for i, name := range []string{"stdout", "stderr"} {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("pipe for %s: %w", name, err)
		}
		m.readers[i], writers[i] = r, w
		m.streams[i] = logfile.NewStream(m.log, name)
		m.copiers.Add(1)
		go m.copy(m.streams[i], FrameStdout+byte(i), r)
	}
	stdin, err := m.stdinPipe()
	if err != nil {
		return err
	}
	defer stdin.Close()
	err = m.rt.Create(context.Background(), m.cfg.ID, ociruntime.CreateOpts{
		Bundle: m.cfg.Bundle, PidFile: m.cfg.PidFile, Stdin: stdin, Stdout: writers[0], Stderr: writers[1],
		ExtraFiles: m.readyFiles(),
	})
	if err != nil {
		m.abort(0)
		return m.runtimeErr(err)
	}
	return nil
}

// readyFiles is the readiness pipe (Config.ReadyFD) as the container's
// fd 3, or none.
func (m *monitor) readyFiles() []*os.File {
	if m.cfg.ReadyFD <= 0 {
		return nil
	}
	if m.ready == nil {
		// Only the container gets it, never a runtime command by accident.
		unix.CloseOnExec(m.cfg.ReadyFD)
		m.ready = os.NewFile(uintptr(m.cfg.ReadyFD), "ready")
	}
	return []*os.File{m.ready}
}

// closeReady closes the monitor's copy of the readiness pipe, so that its
// reader sees EOF once the container's init has closed its own.
func (m *monitor) closeReady() {
	if m.cfg.ReadyFD <= 0 {
		return
	}
	if m.ready == nil {
		m.ready = os.NewFile(uintptr(m.cfg.ReadyFD), "ready")
	}
	m.ready.Close()
}

// abort removes a container that could not be started and reaps its init,
// which is our child by now.
func (m *monitor) abort(pid int) {
	_ = m.rt.Delete(context.Background(), m.cfg.ID, true)
	if pid > 0 {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	}
}

// runtimeErr names the runtime in a failed verb's error, which carries
// the runtime's own message (ociruntime.Error).
func (m *monitor) runtimeErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", m.cfg.Runtime, err)
}

// copy moves one pipe (or the pty master) into the log until EOF, and to
// the attached clients that want stream typ. After a log write error it
// keeps reading, so that the container never blocks on a full pipe.
func (m *monitor) copy(dst *logfile.Stream, typ byte, src *os.File) {
	defer m.copiers.Done()
	buf := make([]byte, copyBuf)
	failed := dst == nil // the watch image could not reopen the log
	for {
		n, err := src.Read(buf)
		if n > 0 && !failed {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				failed = true
				m.copyMu.Lock()
				m.copyErr = werr
				m.copyMu.Unlock()
			}
		}
		if n > 0 && m.hub != nil {
			m.hub.broadcast(typ, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (m *monitor) copyError() error {
	m.copyMu.Lock()
	defer m.copyMu.Unlock()
	return m.copyErr
}

// drain waits up to DrainGrace for the copiers to reach EOF, then closes
// the pipes (which ends them), flushes partial lines and closes the log.
func (m *monitor) drain() {
	done := make(chan struct{})
	go func() { m.copiers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(DrainGrace):
		for _, r := range m.readers {
			if r != nil {
				r.Close()
			}
		}
		<-done
	}
	for i, r := range m.readers {
		if r != nil {
			r.Close()
		}
		if m.streams[i] != nil {
			m.streams[i].Close()
		}
	}
	m.closeStdin()
	if m.hub != nil {
		m.hub.close(m.cfg.AttachSocket, DrainGrace)
	}
	if m.log != nil {
		m.log.Close()
	}
}

func (m *monitor) removeMonitorPid() {
	if m.cfg.MonitorPidFile != "" {
		os.Remove(m.cfg.MonitorPidFile)
	}
}

// exitCode is a shell's $?: the code, or 128+N for death by signal N.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// report writes the Started line on fd and closes it. pierd may be gone
// (EPIPE): that is not the container's problem.
func report(fd, pid int, err error) {
	if fd == 0 {
		return
	}
	s := Started{Pid: pid}
	if err != nil {
		s = Started{Error: err.Error()}
	}
	b, _ := json.Marshal(s)
	f := os.NewFile(uintptr(fd), "sync")
	f.Write(append(b, '\n'))
	f.Close()
}
