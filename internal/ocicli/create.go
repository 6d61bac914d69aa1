package ocicli

import (
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/runtime"
)

type createFlags struct {
	bundle        string
	consoleSocket string
	pidFile       string
	noPivot       bool
	noNewKeyring  bool
	preserveFds   int
}

func (c *createFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&c.bundle, "bundle", "b", ".", "path to the bundle directory")
	f.StringVar(&c.consoleSocket, "console-socket", "", "unix socket that receives the pty master when process.terminal is true")
	f.StringVar(&c.pidFile, "pid-file", "", "file to write the container process's pid to")
	f.BoolVar(&c.noPivot, "no-pivot", false, "use MS_MOVE and chroot instead of pivot_root")
	f.BoolVar(&c.noNewKeyring, "no-new-keyring", false, "keep the caller's session keyring")
	f.IntVar(&c.preserveFds, "preserve-fds", 0, "pass this many fds, from 3 on, to the container")
}

func (c *createFlags) opts(id string) runtime.CreateOpts {
	return runtime.CreateOpts{
		ID: id, Bundle: c.bundle, ConsoleSocket: c.consoleSocket, PidFile: c.pidFile,
		NoPivot: c.noPivot, NoNewKeyring: c.noNewKeyring, PreserveFds: c.preserveFds,
	}
}

func createCmd(g *globals) *cobra.Command {
	var cf createFlags
	cmd := &cobra.Command{
		Use:   "create [flags] ID",
		Short: "create a container; its program starts at `start`",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			_, err = rt.Create(cf.opts(args[0]))
			return err
		},
	}
	cf.add(cmd)
	return cmd
}

func startCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start ID",
		Short: "start the program of a created container",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			return rt.Start(args[0])
		},
	}
}
