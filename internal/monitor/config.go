package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/ociruntime"
)

// Config is what pierd tells a monitor, as a JSON file whose path is the
// monitor's only argument. Paths are absolute; the monitor chdirs to /.
type Config struct {
	// Runtime is the OCI runtime binary (pier-runtime, runc, crun) and
	// RuntimeRoot its --root.
	Runtime     string `json:"runtime"`
	RuntimeRoot string `json:"runtimeRoot,omitempty"`
	// RuntimeExe, set only when Runtime is pier-runtime, is its binary:
	// the monitor then creates, starts and deletes the container through
	// internal/runtime in its own process and starts only the container's
	// process from this binary's preamble, running no runtime command.
	RuntimeExe string `json:"runtimeExe,omitempty"`
	// RuntimeLog, if set, is passed as --log with --log-format json; the
	// monitor reads the runtime's error from its last line when create or
	// start fails.
	RuntimeLog string `json:"runtimeLog,omitempty"`
	ID         string `json:"id"`
	Bundle     string `json:"bundle"`

	// LogPath is the container's json-file log; LogOptions are Docker's
	// --log-opt values for it (max-size, max-file).
	LogPath    string            `json:"logPath"`
	LogOptions map[string]string `json:"logOptions,omitempty"`

	// StatusFile receives the exit Status, written atomically once.
	StatusFile string `json:"statusFile"`
	// PidFile is the runtime's --pid-file: the container's init pid.
	PidFile string `json:"pidFile"`
	// MonitorPidFile, if set, holds the monitor's own pid while it runs,
	// so that a restarted pierd finds it again.
	MonitorPidFile string `json:"monitorPidFile,omitempty"`
	// Cgroups are the container's memory cgroup directories (v1 memory
	// hierarchy or the v2 directory) whose oom_kill counters decide
	// Status.OOMKilled. Empty means OOM kills are not detected.
	Cgroups []string `json:"cgroups,omitempty"`

	// Tty gives the container a terminal: the runtime's create gets a
	// console socket (the spec's process.terminal must be true) and the
	// pty master is the container's output (logged as stdout) and input.
	Tty bool `json:"tty,omitempty"`
	// OpenStdin, without Tty, makes the container's stdin a pipe that
	// attached clients write to; else it is /dev/null. StdinOnce closes it
	// when the first stdin-attached client ends.
	OpenStdin bool `json:"openStdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
	// AttachSocket, if set, is the unix socket (mode 0600) on which
	// clients attach to the live output, stdin and terminal size.
	AttachSocket string `json:"attachSocket,omitempty"`
	// AttachWait is how many clients the container's start waits for (at
	// most AttachWaitTimeout), so that clients that attached before the
	// start see the first bytes.
	AttachWait int `json:"attachWait,omitempty"`

	// SyncFD is the fd of the pipe on which the monitor reports the
	// container's start (a Started line) and then closes; 0 means none.
	SyncFD int `json:"syncFd,omitempty"`
	// InitReady says the container's init is pier-init, which reports
	// its readiness: Start then passes a pipe's write end as ReadyFD, the
	// monitor hands it to the container's process as its fd 3 and closes
	// its own copy after create, and pier-init closes it once it catches
	// SIGTERM and its child has exec'd (Monitor.WaitReady).
	InitReady bool `json:"initReady,omitempty"`
	ReadyFD   int  `json:"readyFd,omitempty"`
	// StartGate is a FIFO the monitor waits at between the container's
	// create and start, until pierd has set up its network (gate.go).
	StartGate string `json:"startGate,omitempty"`
}

// ParseConfig decodes and checks a Config.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("monitor config: %w: %w", errdefs.ErrInvalidArgument, err)
	}
	return c, c.Validate()
}

// ReadConfig reads and checks the Config in path.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("monitor config: %w", err)
	}
	return ParseConfig(b)
}

// Validate reports the first missing or bad field.
func (c Config) Validate() error {
	required := []struct{ name, val string }{
		{"runtime", c.Runtime}, {"id", c.ID}, {"bundle", c.Bundle},
		{"logPath", c.LogPath}, {"statusFile", c.StatusFile}, {"pidFile", c.PidFile},
	}
	for _, r := range required {
		if r.val == "" {
			return fmt.Errorf("monitor config: %s is required: %w", r.name, errdefs.ErrInvalidArgument)
		}
	}
	if c.SyncFD < 0 || (c.SyncFD > 0 && c.SyncFD < 3) {
		return fmt.Errorf("monitor config: syncFd %d: not an extra fd: %w", c.SyncFD, errdefs.ErrInvalidArgument)
	}
	if c.ReadyFD < 0 || (c.ReadyFD > 0 && c.ReadyFD < 3) {
		return fmt.Errorf("monitor config: readyFd %d: not an extra fd: %w", c.ReadyFD, errdefs.ErrInvalidArgument)
	}
	if c.AttachWait < 0 || (c.AttachWait > 0 && c.AttachSocket == "") {
		return fmt.Errorf("monitor config: attachWait %d needs an attachSocket: %w", c.AttachWait, errdefs.ErrInvalidArgument)
	}
	if _, err := logfile.ParseOptions(c.LogOptions); err != nil {
		return fmt.Errorf("monitor config: %w", err)
	}
	return nil
}

// runtimeCLI is the container's runtime, which builds its command lines.
func (c Config) runtimeCLI() ociruntime.CLI {
	return ociruntime.CLI{Name: filepath.Base(c.Runtime), Path: c.Runtime, Root: c.RuntimeRoot, Log: c.RuntimeLog}
}

// containerRuntime is pier-runtime in this process with RuntimeExe, else
// the runtime's command line.
func (c Config) containerRuntime() (containerRuntime, error) {
	if c.RuntimeExe != "" {
		return newLibRuntime(c.RuntimeRoot, c.RuntimeExe)
	}
	return c.runtimeCLI(), nil
}
