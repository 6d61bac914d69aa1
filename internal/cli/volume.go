package cli

import "github.com/spf13/cobra"

// volumeCommands is `pier volume` and its subcommands.
func (a *app) volumeCommands() []*cobra.Command { return nil }
