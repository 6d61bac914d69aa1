package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Status is the record of a container's end, written once by its monitor.
type Status struct {
	// Pid is the container's init pid.
	Pid int `json:"pid"`
	// ExitCode is the init's exit code, or 128+N if signal N killed it.
	ExitCode int `json:"exitCode"`
	// OOMKilled says the OOM killer killed a process of the container: an
	// oom_kill counter of its cgroup grew while it ran.
	OOMKilled  bool      `json:"oomKilled"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Error says why the status may be incomplete (the wait failed); empty
	// when all is known.
	Error string `json:"error,omitempty"`
}

// Started is what the monitor reports on Config.SyncFD: the container's
// pid once it runs, or the error that prevented it.
type Started struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

// ReadStatus reads a Status file; errdefs.ErrNotFound if the container has
// not ended yet (or its monitor died before writing it).
func ReadStatus(path string) (Status, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return Status{}, fmt.Errorf("status %s: %w", path, errdefs.ErrNotFound)
	}
	if err != nil {
		return Status{}, fmt.Errorf("status %s: %w", path, err)
	}
	var s Status
	if err := json.Unmarshal(b, &s); err != nil {
		return Status{}, fmt.Errorf("status %s: %w", path, err)
	}
	return s, nil
}

// WriteStatus writes s to path atomically: a reader sees no file or the
// whole record, never a part, even if the monitor is killed mid-write. It
// is not fsynced: it must survive pierd's death, which it does, not the
// host's, after which no container runs anyway (two fsyncs cost
// milliseconds at the end of every `run --rm`).
func WriteStatus(path string, s Status) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("status %s: %w", path, err)
	}
	return atomicfile.WriteVolatile(path, append(b, '\n'), 0o644)
}

// ReadPid reads a pid file (the runtime's or the monitor's).
func ReadPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is not a pid: %w", path, b, errdefs.ErrInvalidArgument)
	}
	return pid, nil
}
