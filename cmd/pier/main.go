// Command pier is pier's command line; the verbs live in internal/cli.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/pier-engine/pier/internal/cli"
	"github.com/pier-engine/pier/internal/trace"
)

func main() {
	trace.Mark("pier", "go main")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, log))
}
