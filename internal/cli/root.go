package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/template"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/version"
)

// DefaultHost is pierd's socket.
const DefaultHost = "unix:///run/pier/pier.sock"

// Exit codes as the docker CLI uses them: 1 for a failed command, 125 when
// `run` or `create` fails before the container's own code exists.
const (
	ExitFailure = 1
	ExitDaemon  = 125
)

// exitCoder is an error that carries the exit code to use.
type exitCoder interface{ ExitCode() int }

// app is what every verb shares: where the daemon is and where to print.
type app struct {
	host           string
	stdout, stderr io.Writer
	log            *slog.Logger
}

// Run runs pier with args (without the program name) and returns the
// process's exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &app{stdout: stdout, stderr: stderr, log: log}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
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

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "pier",
		Short:         "pier: run containers with pierd",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	root.PersistentFlags().StringVarP(&a.host, "host", "H", defaultHost(),
		"daemon socket (env PIER_HOST, then DOCKER_HOST)")
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
	return root
}

func defaultHost() string {
	for _, env := range []string{"PIER_HOST", "DOCKER_HOST"} {
		if h := os.Getenv(env); h != "" {
			return h
		}
	}
	return DefaultHost
}

// client connects to the daemon lazily: the API version is negotiated
// on the first request. DOCKER_API_VERSION pins it, as for docker.
func (a *app) client() (*client.Client, error) {
	c, err := client.New(client.WithHost(a.host), client.WithAPIVersionFromEnv())
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", a.host, err)
	}
	return c, nil
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

// daemonError tells the user what to check when pierd is not there.
func daemonError(host string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("pierd unreachable: %w", err)
	}
	return err
}
