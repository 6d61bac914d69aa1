package cli

import (
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// imageCommands are the image verbs (images, pull, push, tag, rmi, save,
// load, import, history) and `pier image` with the same verbs as
// subcommands plus inspect and prune, as docker has them.
func (a *app) imageCommands() []*cobra.Command {
	group := &cobra.Command{Use: "image", Short: "Manage images", Args: cobra.NoArgs}
	group.AddCommand(
		a.imagesCommand("ls"), a.imageInspectCommand(), a.historyCommand(), a.imagePruneCommand(),
		a.pullCommand(), a.pushCommand(), a.tagCommand(), a.rmiCommand("rm"),
		a.saveCommand(), a.loadCommand(), a.importCommand(),
	)
	return []*cobra.Command{
		group, a.imagesCommand("images"), a.pullCommand(), a.pushCommand(), a.tagCommand(),
		a.rmiCommand("rmi"), a.saveCommand(), a.loadCommand(), a.importCommand(), a.historyCommand(),
	}
}

// withClient runs fn with a client to pierd and closes it after.
func (a *app) withClient(fn func(c *client.Client) error) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	return fn(c)
}

// shortID is an image id as docker shows it: 12 hex digits.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
