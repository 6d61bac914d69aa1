package cli

import "github.com/spf13/cobra"

// processCommands: see the file's verbs.
func (a *app) processCommands() []*cobra.Command { return nil }
