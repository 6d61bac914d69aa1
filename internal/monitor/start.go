package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/pier-engine/pier/internal/atomicfile"
)

// Monitor is a running pier-monitor seen from the process that started it.
type Monitor struct {
	// Pid is the monitor's pid, ContainerPid the container's init pid.
	Pid          int
	ContainerPid int
	cmd          *exec.Cmd
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
	defer r.Close()
	cfg.SyncFD = 3 // the first of cmd.ExtraFiles
	if err := cfg.Validate(); err != nil {
		w.Close()
		return nil, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("monitor config: %w", err)
	}
	if err := atomicfile.WriteVolatile(configPath, b, 0o644); err != nil {
		w.Close()
		return nil, err
	}
	cmd := exec.Command(bin, configPath)
	cmd.ExtraFiles = []*os.File{w}
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
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
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
	return &Monitor{Pid: cmd.Process.Pid, ContainerPid: s.Pid, cmd: cmd}, nil
}

// Wait reaps the monitor; it returns when the container has ended and its
// Status is written.
func (m *Monitor) Wait() error {
	if err := m.cmd.Wait(); err != nil {
		return fmt.Errorf("monitor %d: %w", m.Pid, err)
	}
	return nil
}
