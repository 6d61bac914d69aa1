package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// startCommand is docker start; with -a it attaches to the one container
// first, as run does, and exits with its exit code.
func (a *app) startCommand() *cobra.Command {
	var (
		attach, interactive bool
		o                   attachOptions
	)
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach || interactive {
				if len(args) > 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				o.noStdin = !interactive
				return a.startAttached(cmd.Context(), args[0], o)
			}
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerStart(cmd.Context(), id, client.ContainerStartOptions{})
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&interactive, "interactive", "i", false, "Attach container's STDIN")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// startAttached attaches to a created or stopped container, waits for its
// next exit, starts it and copies its streams.
func (a *app) startAttached(ctx context.Context, ref string, o attachOptions) error {
	keys, err := parseDetachKeys(o.detachKeys)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	res, err := c.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	ctr := res.Container
	if ctr.Config == nil {
		return fmt.Errorf("inspect %s: no config in the answer", ref)
	}
	cfg := ctr.Config
	withStdin := !o.noStdin && cfg.OpenStdin
	if err := checkTTY(withStdin, cfg.Tty); err != nil {
		return err
	}
	if o.sigProxy && !cfg.Tty {
		defer proxySignals(ctx, c, ctr.ID)()
	}
	att, err := c.ContainerAttach(ctx, ctr.ID, client.ContainerAttachOptions{Stream: true,
		Stdin: withStdin, Stdout: true, Stderr: true, DetachKeys: o.detachKeys})
	if err != nil {
		return err
	}
	defer att.Close()
	s := a.session(att.HijackedResponse, withStdin, true, true, cfg.Tty, keys)
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	streamed := make(chan error, 1)
	go func() { streamed <- s.stream(streamCtx) }()

	wait := c.ContainerWait(context.WithoutCancel(ctx), ctr.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := c.ContainerStart(ctx, ctr.ID, client.ContainerStartOptions{}); err != nil {
		stopStream()
		<-streamed
		return err
	}
	if cfg.Tty {
		a.monitorSize(streamCtx, a.containerResize(c, ctr.ID))
	}
	if err := <-streamed; err != nil {
		if errors.Is(err, errDetached) {
			return nil
		}
		return fmt.Errorf("attach %s: %w", ref, err)
	}
	return waitStatus(ref, wait)
}

func (a *app) stopCommand() *cobra.Command {
	var (
		signal  string
		timeout int
	)
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := client.ContainerStopOptions{Signal: signal}
			if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time") {
				opts.Timeout = &timeout
			}
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerStop(cmd.Context(), id, opts)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&timeout, "time", 0, "Seconds to wait before killing the container")
	f.MarkDeprecated("time", "use --timeout")
	return cmd
}

func (a *app) killCommand() *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerKill(cmd.Context(), id, client.ContainerKillOptions{Signal: signal})
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container (default KILL)")
	return cmd
}

func (a *app) rmCommand(use string) *cobra.Command {
	var opts client.ContainerRemoveOptions
	cmd := &cobra.Command{
		Use:     use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more containers",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerRemove(cmd.Context(), id, opts)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&opts.RemoveVolumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}

// waitCommand prints each container's exit code once it stops, as docker's.
func (a *app) waitCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range args {
				res := c.ContainerWait(cmd.Context(), id, client.ContainerWaitOptions{})
				select {
				case r := <-res.Result:
					if r.Error != nil {
						errs = append(errs, fmt.Errorf("wait %s: %s", id, r.Error.Message))
						continue
					}
					fmt.Fprintln(a.stdout, r.StatusCode)
				case err := <-res.Error:
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
}
