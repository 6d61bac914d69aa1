package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// execCommands: `pier exec`.
func (a *app) execCommands() []*cobra.Command { return []*cobra.Command{a.execCommand()} }

// execCommand is docker exec without a tty or stdin yet: create the exec,
// start it attached and copy its output, then exit with its exit code.
func (a *app) execCommand() *cobra.Command {
	var (
		detach     bool
		env        []string
		workdir    string
		user       string
		tty, stdin bool
	)
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tty || stdin {
				return fmt.Errorf("exec: -t and -i are not supported yet")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			opts := client.ExecCreateOptions{User: user, Env: env, WorkingDir: workdir, Cmd: args[1:],
				AttachStdout: !detach, AttachStderr: !detach}
			created, err := c.ExecCreate(cmd.Context(), args[0], opts)
			if err != nil {
				return daemonError(a.host, err)
			}
			if detach {
				_, err := c.ExecStart(cmd.Context(), created.ID, client.ExecStartOptions{Detach: true})
				return daemonError(a.host, err)
			}
			return a.execAttached(cmd.Context(), c, created.ID)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	f.StringVarP(&workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	f.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY (not supported yet)")
	f.BoolVarP(&stdin, "interactive", "i", false, "Keep STDIN open (not supported yet)")
	return cmd
}

// execAttached copies the exec's stream until the daemon closes it, then
// asks for the exit code.
func (a *app) execAttached(ctx context.Context, c *client.Client, id string) error {
	att, err := c.ExecAttach(ctx, id, client.ExecAttachOptions{})
	if err != nil {
		return daemonError(a.host, err)
	}
	defer att.Close()
	if _, err := stdcopy.StdCopy(a.stdout, a.stderr, att.Reader); err != nil && err != io.EOF {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	ins, err := c.ExecInspect(ctx, id, client.ExecInspectOptions{})
	if err != nil {
		return daemonError(a.host, err)
	}
	if ins.ExitCode != 0 {
		return exitStatus(ins.ExitCode)
	}
	return nil
}
