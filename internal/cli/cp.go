package cli

import "github.com/spf13/cobra"

// cpCommands are `pier cp` (and `pier container cp`).
func (a *app) cpCommands() []*cobra.Command { return nil }
