package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/cgroups"
)

// DefaultRoot is where container state lives unless --root says otherwise.
const DefaultRoot = "/run/pier-runtime"

// Runtime manages the containers recorded under Root.
type Runtime struct {
	Root string
	Log  *slog.Logger
	// Exe is the pier-runtime binary whose C preamble starts container
	// processes. Empty means this process's own binary: pier-runtime's
	// commands. pier-monitor and pierd, which link no C, set it to drive
	// the runtime as a library (no pier-runtime command process).
	Exe string
	// Signals, when set, passes a foreground run's or exec's signals on
	// in place of os/signal (pier-runtime's command sets internal/sigfwd's
	// C handler); a terminal run or exec keeps os/signal for SIGWINCH.
	Signals SignalForwarder
}

// New returns a runtime keeping its state under root.
func New(root string, log *slog.Logger) (*Runtime, error) {
	if root == "" {
		root = DefaultRoot
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("state root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o711); err != nil {
		return nil, fmt.Errorf("state root %s: %w", abs, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{Root: abs, Log: log}, nil
}

func cgroupConfig(id string, spec *specs.Spec) cgroups.Config {
	cfg := cgroups.Config{ID: id}
	if spec != nil && spec.Linux != nil {
		cfg.Path = spec.Linux.CgroupsPath
	}
	return cfg
}

func (r *Runtime) cgroup(rec *Record) (cgroups.Manager, error) {
	return cgroups.New(cgroupConfig(rec.ID, rec.Spec))
}

// cleanup is a stack of undo steps for a half-made container: on failure
// they run newest first, and what they fail at is joined to the error
// that made them run; on success Release drops them.
type cleanup struct{ fns []func() error }

func (c *cleanup) Add(f func() error) { c.fns = append(c.fns, f) }
func (c *cleanup) Release()           { c.fns = nil }

// Run runs every step, even after one fails, and returns their errors.
func (c *cleanup) Run() error {
	var errs []error
	for i := len(c.fns) - 1; i >= 0; i-- {
		if err := c.fns[i](); err != nil {
			errs = append(errs, fmt.Errorf("undo: %w", err))
		}
	}
	c.fns = nil
	return errors.Join(errs...)
}
