package cli

import "github.com/spf13/cobra"

// eventCommands: see the file's verbs.
func (a *app) eventCommands() []*cobra.Command { return nil }
