package cli

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) diffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				res, err := c.ContainerDiff(cmd.Context(), args[0], client.ContainerDiffOptions{})
				if err != nil {
					return err
				}
				for _, ch := range res.Changes {
					fmt.Fprintf(a.stdout, "%s %s\n", ch.Kind, ch.Path)
				}
				return nil
			})
		},
	}
}

// builderCommand is `pier builder prune`.
func (a *app) builderCommand() *cobra.Command {
	group := &cobra.Command{Use: "builder", Short: "Manage builds", Args: cobra.NoArgs}
	var all, force bool
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				res, err := c.BuildCachePrune(cmd.Context(), client.BuildCachePruneOptions{All: all})
				if err != nil {
					return err
				}
				if len(res.Report.CachesDeleted) > 0 {
					fmt.Fprintln(a.stdout, "Deleted build cache objects:")
					for _, id := range res.Report.CachesDeleted {
						fmt.Fprintln(a.stdout, id)
					}
					fmt.Fprintln(a.stdout)
				}
				fmt.Fprintf(a.stdout, "Total reclaimed space: %dB\n", res.Report.SpaceReclaimed)
				return nil
			})
		},
	}
	prune.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	prune.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	group.AddCommand(prune)
	return group
}
