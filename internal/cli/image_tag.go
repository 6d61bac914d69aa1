package cli

import (
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) tagCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				_, err := c.ImageTag(cmd.Context(), client.ImageTagOptions{Source: args[0], Target: args[1]})
				return err
			})
		},
	}
}

func (a *app) rmiCommand(use string) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   use + " [-f] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				// Like docker: go on past a failure, report them all.
				var errs []error
				for _, ref := range args {
					res, err := c.ImageRemove(cmd.Context(), ref, client.ImageRemoveOptions{Force: force, PruneChildren: !noPrune})
					if err != nil {
						errs = append(errs, err)
						continue
					}
					for _, d := range res.Items {
						if d.Untagged != "" {
							fmt.Fprintln(a.stdout, "Untagged:", d.Untagged)
						}
						if d.Deleted != "" {
							fmt.Fprintln(a.stdout, "Deleted:", d.Deleted)
						}
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents (pier has none)")
	return cmd
}
