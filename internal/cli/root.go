package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/template"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/version"
)

// Exit codes as the docker CLI uses them: 1 for a failed command, 125 when
// `run` or `create` fails before the container's own code exists.
const (
	ExitFailure = 1
	ExitDaemon  = 125
)

// exitCoder is an error that carries the exit code to use.
type exitCoder interface{ ExitCode() int }

// app is what every verb shares: the one client to the daemon and where
// to print.
type app struct {
	conn           connectOptions
	stdout, stderr io.Writer
	log            *slog.Logger

	clientOnce sync.Once
	api        *client.Client // made by the first client(), closed by Run
	apiErr     error
}

// Run runs pier with args (without the program name) and returns the
// process's exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &app{stdout: stdout, stderr: stderr, log: log}
	args = globalArgs(args)
	root := a.rootFor(verb(args))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.api != nil {
		a.api.Close()
	}
	if err != nil {
		// Said once here for every verb: what to check when pierd is not
		// there.
		if client.IsErrConnectionFailed(err) {
			err = fmt.Errorf("pierd unreachable: %w", err)
		}
		// An error that only carries a container's exit code has nothing
		// to say; docker prints nothing then either.
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "pier:", msg)
		}
		var ec exitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return ExitFailure
	}
	return 0
}

// rootFor is the command tree an invocation of verb needs: for a verb
// that is one top-level command (verbCommand), that command alone, since
// building every verb's flags (run's and create's ~100, each built twice,
// as a top-level verb and under `container`) costs more than the run's
// own parsing; for anything else (no verb, a group, help, completion, a
// typo to suggest a verb for) the whole tree.
func (a *app) rootFor(verb string) *cobra.Command {
	if cmd := a.verbCommand(verb); cmd != nil {
		root := a.bareRoot()
		root.AddCommand(cmd)
		return root
	}
	return a.rootCommand()
}

// bareRoot is the root command with the global flags and no verbs.
func (a *app) bareRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "pier",
		Short:         "pier: run containers with pierd",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	a.conn.addFlags(root.PersistentFlags())
	return root
}

// rootCommand is the whole command tree.
func (a *app) rootCommand() *cobra.Command {
	root := a.bareRoot()
	root.AddCommand(a.versionCommand(), a.infoCommand())
	root.AddCommand(a.imageCommands()...)
	root.AddCommand(a.volumeCommands()...)
	root.AddCommand(a.containerCommands()...)
	root.AddCommand(a.execCommands()...)
	root.AddCommand(a.processCommands()...)
	root.AddCommand(a.eventCommands()...)
	root.AddCommand(a.statsCommands()...)
	root.AddCommand(a.loginCommands()...)
	root.AddCommand(a.networkCommands()...)
	root.AddCommand(a.cpCommands()...)
	root.AddCommand(a.exportCommand())
	root.AddCommand(a.buildCommands()...)
	return root
}

// client is the invocation's one client to the daemon, made on first use
// so that verbs that need none (help, completion) never build it.
func (a *app) client() (*client.Client, error) {
	a.clientOnce.Do(func() { a.api, a.apiErr = a.conn.newClient() })
	return a.api, a.apiErr
}

// render prints v with a --format template; "json" prints it as JSON.
func render(w io.Writer, format string, v any) error {
	if format == "json" {
		return json.NewEncoder(w).Encode(v)
	}
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"bytes": func(n int64) string { return units.BytesSize(float64(n)) },
	}).Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if !strings.HasSuffix(format, "\n") {
		_, err = fmt.Fprintln(w)
	}
	return err
}
