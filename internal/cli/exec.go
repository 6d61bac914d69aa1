package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// execCommands: `pier exec` and `pier attach`, the verbs that join a
// running container.
func (a *app) execCommands() []*cobra.Command {
	return []*cobra.Command{a.execCommand(), a.attachCommand()}
}

type execOptions struct {
	detach, tty, interactive bool
	env                      []string
	workdir, user            string
	detachKeys               string
}

// execCommand is docker exec: create the exec, then start it detached, or
// attached with stdin and a tty as asked, and exit with its exit code.
func (a *app) execCommand() *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.exec(cmd.Context(), args[0], args[1:], o)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func (a *app) exec(ctx context.Context, ref string, cmd []string, o execOptions) error {
	keys, err := parseDetachKeys(o.detachKeys)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// The tty check comes before the exec exists so none is left behind,
	// as in docker. Docker inspects the container first so that a missing
	// one is the first thing said; the exec create says "No such
	// container" (and "is not running") in the same words, so the
	// inspect's round trip is paid only when the tty check fails.
	attachIn := o.interactive && !o.detach
	if !o.detach {
		if err := checkTTY(attachIn, o.tty); err != nil {
			if _, ierr := c.ContainerInspect(ctx, ref, client.ContainerInspectOptions{}); ierr != nil {
				return ierr
			}
			return err
		}
	}
	opts := client.ExecCreateOptions{User: o.user, Env: envList(o.env), WorkingDir: o.workdir, Cmd: cmd,
		TTY: o.tty, AttachStdin: attachIn, AttachStdout: !o.detach, AttachStderr: !o.detach, DetachKeys: o.detachKeys}
	if h, w, ok := a.ttySize(); ok && o.tty {
		opts.ConsoleSize = client.ConsoleSize{Height: h, Width: w}
	}
	created, err := c.ExecCreate(ctx, ref, opts)
	if err != nil {
		return err
	}
	if o.detach {
		_, err := c.ExecStart(ctx, created.ID, client.ExecStartOptions{Detach: true, TTY: o.tty, ConsoleSize: opts.ConsoleSize})
		return err
	}
	return a.execAttached(ctx, c, created.ID, opts, keys)
}

// execAttached copies the exec's streams until its output ends, keeping
// the exec's tty at the local terminal's size, then asks for the exit
// code. Detaching leaves the exec running and, as in docker, fails with
// "read escape sequence".
func (a *app) execAttached(ctx context.Context, c *client.Client, id string, opts client.ExecCreateOptions, keys []byte) error {
	att, err := c.ExecAttach(ctx, id, client.ExecAttachOptions{TTY: opts.TTY, ConsoleSize: opts.ConsoleSize})
	if err != nil {
		return err
	}
	defer att.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := a.session(att.HijackedResponse, opts.AttachStdin, opts.AttachStdout, opts.AttachStderr, opts.TTY, keys)
	streamed := make(chan error, 1)
	go func() { streamed <- s.stream(ctx) }()
	if opts.TTY {
		a.monitorSize(ctx, func(ctx context.Context, h, w uint) error {
			_, err := c.ExecResize(ctx, id, client.ExecResizeOptions{Height: h, Width: w})
			return err
		})
	}
	if err := <-streamed; err != nil {
		if errors.Is(err, errDetached) {
			return err
		}
		return fmt.Errorf("exec %s: %w", id, err)
	}
	ins, err := c.ExecInspect(context.WithoutCancel(ctx), id, client.ExecInspectOptions{})
	if err != nil {
		return err
	}
	if ins.ExitCode != 0 {
		return exitStatus(ins.ExitCode)
	}
	return nil
}
