package cli

import "github.com/spf13/cobra"

// statsCommands: stats and update.
func (a *app) statsCommands() []*cobra.Command { return nil }
