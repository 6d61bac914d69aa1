// Package ocicli is pier-runtime's command line: runc's commands, flags,
// output and exit codes, so that Docker, containerd and Podman can drive
// pier-runtime as they drive runc. It only parses, prints and maps errors;
// the work is internal/runtime's.
package ocicli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/runtime"
	"github.com/pier-engine/pier/internal/sigfwd"
	"github.com/pier-engine/pier/internal/version"
)

type globals struct {
	root          string
	logPath       string
	logFormat     string
	debug         bool
	systemdCgroup bool
	logFile       io.WriteCloser
}

// exitError carries a process's exit status out of a command, for `run`
// and `exec` in the foreground.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	g := &globals{}
	cmd := newRoot(g)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if g.logFile != nil {
		defer g.logFile.Close()
	}
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	reportError(g, err)
	return 1
}

// reportError prints err on stderr and, like runc, as the last line of the
// --log file, where containerd's shim looks for the reason of a failure.
func reportError(g *globals, err error) {
	fmt.Fprintf(os.Stderr, "pier-runtime: %v\n", err)
	if g.logFile == nil {
		return
	}
	if g.logFormat == "json" {
		line, _ := json.Marshal(map[string]string{"level": "error", "msg": err.Error(), "time": time.Now().Format(time.RFC3339Nano)})
		fmt.Fprintf(g.logFile, "%s\n", line)
	} else {
		fmt.Fprintf(g.logFile, "time=%q level=error msg=%q\n", time.Now().Format(time.RFC3339Nano), err.Error())
	}
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "pier-runtime",
		Short:         "pier's OCI container runtime (runc-compatible command line)",
		Version:       version.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", runtime.DefaultRoot, "directory for container state")
	f.StringVar(&g.logPath, "log", "", "log file (default: stderr)")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&g.debug, "debug", false, "debug logging")
	f.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "use the systemd cgroup driver (not supported)")
	f.String("criu", "criu", "accepted for runc compatibility; checkpoint/restore is not supported")
	f.String("rootless", "auto", "accepted for runc compatibility")
	root.AddCommand(
		createCmd(g), startCmd(g), runCmd(g), stateCmd(g), listCmd(g), killCmd(g), deleteCmd(g),
		execCmd(g), psCmd(g), pauseCmd(g), resumeCmd(g), updateCmd(g), eventsCmd(g),
		featuresCmd(), specCmd(),
	)
	return root
}

func (g *globals) setup() error {
	if g.systemdCgroup {
		return errors.New("--systemd-cgroup: the systemd cgroup driver is not supported; pier-runtime manages cgroupfs directly")
	}
	if g.logFormat != "text" && g.logFormat != "json" {
		return fmt.Errorf("--log-format: %q is neither text nor json", g.logFormat)
	}
	if g.logPath != "" {
		f, err := os.OpenFile(g.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("--log %s: %w", g.logPath, err)
		}
		g.logFile = f
	}
	return nil
}

func (g *globals) runtime() (*runtime.Runtime, error) {
	rt, err := runtime.New(g.root, g.logger())
	if err != nil {
		return nil, err
	}
	rt.Signals = sigfwd.Forwarder{}
	return rt, nil
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.debug {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	if g.logFile != nil {
		w = g.logFile
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// exactArgs is cobra.ExactArgs with runc's wording.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s: %s requires exactly %d argument(s): %s", cmd.Name(), cmd.Name(), n, what)
		}
		return nil
	}
}
