package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) runCommand() *cobra.Command {
	var (
		o      createOptions
		detach bool
	)
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.createRequest(cmd.Flags(), args)
			if err != nil {
				return daemonFailure{err}
			}
			if detach {
				opts.Config.AttachStdout, opts.Config.AttachStderr = false, false
			}
			c, err := a.client()
			if err != nil {
				return daemonFailure{err}
			}
			defer c.Close()
			id, err := a.create(cmd.Context(), c, opts)
			if err != nil {
				return err
			}
			if detach {
				if _, err := c.ContainerStart(cmd.Context(), id, client.ContainerStartOptions{}); err != nil {
					return daemonFailure{daemonError(a.host, err)}
				}
				_, err = fmt.Fprintln(a.stdout, id)
				return err
			}
			return a.runAttached(cmd.Context(), c, id, o.autoRemove)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	usageExits125(cmd)
	return cmd
}

// runAttached is docker's sequence for a foreground run: attach and wait
// before start so no output and no exit is missed, then start, copy the
// stream until the daemon closes it, and take the exit code from wait.
// With --rm the container is removed after (the daemon may have done it).
func (a *app) runAttached(ctx context.Context, c *client.Client, id string, remove bool) (retErr error) {
	if remove {
		defer func() {
			_, err := c.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
			if err != nil && !isNotFound(err) && retErr == nil {
				retErr = daemonError(a.host, err)
			}
		}()
	}
	att, err := c.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return daemonFailure{daemonError(a.host, err)}
	}
	defer att.Close()
	wait := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(a.stdout, a.stderr, att.Reader)
		copied <- err
	}()
	if _, err := c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return daemonFailure{daemonError(a.host, err)}
	}
	if err := <-copied; err != nil && err != io.EOF {
		return fmt.Errorf("attach %s: %w", id, err)
	}
	select {
	case res := <-wait.Result:
		if res.Error != nil {
			return fmt.Errorf("wait %s: %s", id, res.Error.Message)
		}
		if res.StatusCode != 0 {
			return exitStatus(res.StatusCode)
		}
		return nil
	case err := <-wait.Error:
		return daemonError(a.host, err)
	}
}
