package cli

import "github.com/spf13/cobra"

// execCommands: see the file's verbs.
func (a *app) execCommands() []*cobra.Command { return nil }
