package cli

import (
	"errors"
	"io"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) exportCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [-o FILE] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && isTerminal(a.stdout) {
				return errors.New("refusing to write a tar to a terminal: use -o FILE or redirect")
			}
			return a.withClient(func(c *client.Client) error {
				res, err := c.ContainerExport(cmd.Context(), args[0], client.ContainerExportOptions{})
				if err != nil {
					return err
				}
				defer res.Close()
				if output != "" {
					return saveTo(output, res)
				}
				_, err = io.Copy(a.stdout, res)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}
