package ocicli

import (
	"github.com/spf13/cobra"
)

func runCmd(g *globals) *cobra.Command {
	var cf createFlags
	var detach, keep bool
	cmd := &cobra.Command{
		Use:   "run [flags] ID",
		Short: "create and start a container; without -d, wait for it and delete it",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			code, err := rt.Run(cf.opts(args[0]), detach, keep)
			if err != nil {
				return err
			}
			if detach {
				return nil
			}
			return &exitError{code: code}
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "do not wait for the container")
	cmd.Flags().BoolVar(&keep, "keep", false, "do not delete the container after it exits")
	return cmd
}
