package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// processCommands: pause, unpause, top, ns, rename and restart — a
// container seen as the host's processes.
func (a *app) processCommands() []*cobra.Command {
	return []*cobra.Command{
		a.pauseCommand(), a.unpauseCommand(), a.topCommand(), a.nsCommand(), a.renameCommand(), a.restartCommand(),
	}
}

func (a *app) pauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerPause(cmd.Context(), id, client.ContainerPauseOptions{})
				return err
			})
		},
	}
}

func (a *app) unpauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerUnpause(cmd.Context(), id, client.ContainerUnpauseOptions{})
				return err
			})
		},
	}
}

func (a *app) renameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			_, err = c.ContainerRename(cmd.Context(), args[0], client.ContainerRenameOptions{NewName: args[1]})
			return err
		},
	}
}

func (a *app) restartCommand() *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts client.ContainerRestartOptions
			if cmd.Flags().Changed("timeout") {
				opts.Timeout = &timeout
			}
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerRestart(cmd.Context(), id, opts)
				return err
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	return cmd
}

// topCommand prints the daemon's columns as they come: pierd's default
// has NSPID, the pid inside the container, beside the host's PID.
func (a *app) topCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			top, err := c.ContainerTop(cmd.Context(), args[0], client.ContainerTopOptions{Arguments: args[1:]})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 10, 1, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(top.Titles, "\t"))
			for _, p := range top.Processes {
				fmt.Fprintln(tw, strings.Join(p, "\t"))
			}
			return tw.Flush()
		},
	}
	// What follows the container is ps's, flags included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}
