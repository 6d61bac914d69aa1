package cli

import "github.com/spf13/cobra"

// imageCommands are the image verbs (images, pull, push, tag, rmi, save,
// load, import, image inspect/prune, history).
func (a *app) imageCommands() []*cobra.Command { return nil }
