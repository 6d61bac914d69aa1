package cli

import (
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) startCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerStart(cmd.Context(), id, client.ContainerStartOptions{})
				return err
			})
		},
	}
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
			defer c.Close()
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
					errs = append(errs, daemonError(a.host, err))
				}
			}
			return errors.Join(errs...)
		},
	}
}
