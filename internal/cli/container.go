package cli

import (
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// containerCommands are the container verbs (run, create, start, ps, logs,
// stop, kill, rm, wait, inspect), and `pier container` with the same verbs
// as subcommands, as docker has them.
func (a *app) containerCommands() []*cobra.Command {
	group := &cobra.Command{Use: "container", Short: "Manage containers", Args: cobra.NoArgs}
	group.AddCommand(
		a.runCommand(), a.createCommand(), a.startCommand(), a.psCommand("ls"), a.logsCommand(),
		a.stopCommand(), a.killCommand(), a.rmCommand("rm"), a.waitCommand(), a.containerInspectCommand(),
		a.containerPruneCommand(), a.exportCommand(), a.portCommand(),
	)
	// The other groups' verbs are `pier container` verbs too, as in docker.
	group.AddCommand(a.execCommands()...)
	group.AddCommand(a.processCommands()...)
	group.AddCommand(a.statsCommands()...)
	group.AddCommand(a.cpCommands()...)
	return []*cobra.Command{
		group, a.runCommand(), a.createCommand(), a.startCommand(), a.psCommand("ps"), a.logsCommand(),
		a.stopCommand(), a.killCommand(), a.rmCommand("rm"), a.waitCommand(), a.inspectCommand(),
		a.portCommand(),
	}
}

// exitStatus carries a container's exit code out of run; it prints
// nothing, as docker prints nothing when the container fails.
type exitStatus int

func (e exitStatus) Error() string { return "" }
func (e exitStatus) ExitCode() int { return int(e) }

// daemonFailure is an error from pierd before the container ran: run and
// create exit 125 with it, as docker does.
type daemonFailure struct{ err error }

func (e daemonFailure) Error() string { return e.err.Error() }
func (e daemonFailure) Unwrap() error { return e.err }
func (e daemonFailure) ExitCode() int { return ExitDaemon }

// forEach runs fn for every container named in args, printing the name of
// each that succeeded, and joins the errors: one failure fails the verb
// with exit 1 while the others still go ahead, as in docker.
func (a *app) forEach(args []string, fn func(c *client.Client, id string) error) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range args {
		if err := fn(c, id); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(a.stdout, id)
	}
	return errors.Join(errs...)
}

// isNotFound says whether the daemon answered 404.
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
