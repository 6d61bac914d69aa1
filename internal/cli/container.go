package cli

import "github.com/spf13/cobra"

// containerCommands are the container verbs (run, create, start, ps, logs,
// stop, kill, rm, wait, inspect).
func (a *app) containerCommands() []*cobra.Command { return nil }
