package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/pier-engine/pier/internal/atomicfile"
)

// Monitor is a running pier-monitor seen from the process that started it.
type Monitor struct {
	// Pid is the monitor's pid, ContainerPid the container's init pid.
	Pid          int
	ContainerPid int
	cmd          *exec.Cmd
	// ready is the read end of the readiness pipe (Config.InitReady).
	ready *os.File
}

// Start writes cfg to configPath, starts the monitor binary bin on it in
// a new session (so that signals to pierd's process group and pierd's
// death leave it alone), and returns once the container runs or failed to
// start. stderr receives the monitor's own errors; nil discards them.
//
// The caller must call Wait, in a goroutine, to reap the monitor when it
// exits; if the caller dies first, init reaps it.
func Start(bin, configPath string, cfg Config, stderr *os.File) (*Monitor, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("monitor sync pipe: %w", err)
	}
	cfg.SyncFD = 3 // the first of cmd.ExtraFiles
	extra := []*os.File{w}
	var ready *os.File
	if cfg.InitReady {
		var rw *os.File
		if ready, rw, err = os.Pipe(); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("monitor readiness pipe: %w", err)
		}
		defer rw.Close()
		cfg.ReadyFD = 4 // the second
		extra = append(extra, rw)
	}
	ok := false
	defer func() {
		if !ok && ready != nil {
			ready.Close()
		}
	}()
	if err := writeConfig(configPath, cfg); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	cmd := exec.Command(bin, configPath)
	cmd.ExtraFiles = extra
	if stderr != nil {
		cmd.Stderr = stderr
	}
	// One P from the start: runtime.GOMAXPROCS(1) in main comes after the
	// runtime has started a thread for the second P (bench/monitor).
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m, err := waitStarted(cmd, r, ready, cfg)
	ok = err == nil
	return m, err
}

// writeConfig checks cfg and writes it where the monitor reads it.
func writeConfig(configPath string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("monitor config: %w", err)
	}
	return atomicfile.WriteVolatile(configPath, b, 0o644)
}

// waitStarted reads the monitor's Started report from r, the sync pipe
// (its write end closed here), and reaps a monitor that failed.
func waitStarted(cmd *exec.Cmd, r, ready *os.File, cfg Config) (*Monitor, error) {
	defer r.Close()
	var s Started
	data, err := io.ReadAll(r)
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil || s.Error != "" || s.Pid <= 0 {
		werr := cmd.Wait()
		if s.Error != "" {
			return nil, fmt.Errorf("container %s: %w", cfg.ID, errors.New(s.Error))
		}
		return nil, fmt.Errorf("container %s: monitor gave no pid (%w): %w", cfg.ID, err, werr)
	}
	return &Monitor{Pid: cmd.Process.Pid, ContainerPid: s.Pid, cmd: cmd, ready: ready}, nil
}

// WaitReady returns once the container's init has closed the readiness
// pipe (Config.InitReady): it catches SIGTERM and its child has exec'd, or
// it has ended. It waits at most timeout: a slow machine must not fail a
// start, only leave a stop less prompt in that window. Without the pipe it
// returns at once. The end of a pipe is an event, not a poll: the read
// blocks in the runtime's netpoller until EOF or the deadline.
func (m *Monitor) WaitReady(timeout time.Duration) error {
	if m.ready == nil {
		return nil
	}
	defer func() { m.ready.Close(); m.ready = nil }()
	if err := m.ready.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("container init readiness: %w", err)
	}
	var b [64]byte
	for {
		// pier-init writes nothing: anything read is only skipped.
		_, err := m.ready.Read(b[:])
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("container init readiness: %w", err)
		}
	}
}

// Wait reaps the monitor; it returns when the container has ended and its
// Status is written.
func (m *Monitor) Wait() error {
	if err := m.cmd.Wait(); err != nil {
		return fmt.Errorf("monitor %d: %w", m.Pid, err)
	}
	return nil
}
