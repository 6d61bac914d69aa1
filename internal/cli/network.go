package cli

import "github.com/spf13/cobra"

// networkCommands are `pier network ...`.
func (a *app) networkCommands() []*cobra.Command { return nil }
