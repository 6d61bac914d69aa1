package cli

import (
	"context"
	"os"
	"os/signal"

	"github.com/moby/moby/client"

	"github.com/pier-engine/pier/internal/signame"
)

// proxiedSignals are the signals --sig-proxy passes on, by the name the
// kill endpoint takes (signame.Name). Job control (TSTP), SIGPIPE, SIGCHLD
// and SIGWINCH stay with pier itself, as their meaning is local.
var proxiedSignals = signame.Of("HUP", "INT", "QUIT", "TERM", "USR1", "USR2", "ALRM")

// proxySignals sends the signals pier receives to the container until the
// returned stop is called, so ctrl-c without a tty interrupts the
// container's process rather than pier.
func proxySignals(ctx context.Context, c *client.Client, id string) (stop func()) {
	sigc := make(chan os.Signal, 16)
	signal.Notify(sigc, proxiedSignals...)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigc:
				// A container that is gone has nothing to signal; the
				// wait reports its end.
				c.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signame.Name(s)})
			}
		}
	}()
	return func() {
		signal.Stop(sigc)
		cancel()
	}
}
