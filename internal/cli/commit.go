package cli

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) commitCommand() *cobra.Command {
	var author, message string
	var changes []string
	pause := true
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				opts := client.ContainerCommitOptions{Author: author, Comment: message, Changes: changes, NoPause: !pause}
				if len(args) == 2 {
					opts.Reference = args[1]
				}
				res, err := c.ContainerCommit(cmd.Context(), args[0], opts)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, res.ID)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	fl.StringArrayVarP(&changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	fl.StringVarP(&message, "message", "m", "", "Commit message")
	fl.BoolVarP(&pause, "pause", "p", true, "Pause container during commit")
	return cmd
}
