package cli

import (
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func (a *app) logsCommand() *cobra.Command {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client) error {
				// A container with a terminal logs a raw stream, one
				// without it multiplexed frames: ask which first, as docker.
				info, err := c.ContainerInspect(cmd.Context(), args[0], client.ContainerInspectOptions{})
				if err != nil {
					return err
				}
				rc, err := c.ContainerLogs(cmd.Context(), info.Container.ID, opts)
				if err != nil {
					return err
				}
				defer rc.Close()
				if info.Container.Config != nil && info.Container.Config.Tty {
					_, err = io.Copy(a.stdout, rc)
				} else {
					_, err = stdcopy.StdCopy(a.stdout, a.stderr, rc)
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Follow, "follow", "f", false, "Follow log output")
	f.StringVarP(&opts.Tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	f.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVar(&opts.Since, "since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
	f.StringVar(&opts.Until, "until", "", "Show logs before a timestamp or relative (e.g. 42m)")
	f.BoolVar(&opts.Details, "details", false, "Show extra details provided to logs")
	return cmd
}
