package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/moby/moby/client"
)

// proxiedSignals are the signals --sig-proxy passes on, by the name the
// kill endpoint takes. Job control (TSTP), SIGPIPE, SIGCHLD and SIGWINCH
// stay with pier itself, as their meaning is local.
var proxiedSignals = map[os.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGTERM: "TERM",
	syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2", syscall.SIGALRM: "ALRM",
}

// proxySignals sends the signals pier receives to the container until the
// returned stop is called, so ctrl-c without a tty interrupts the
// container's process rather than pier.
func proxySignals(ctx context.Context, c *client.Client, id string) (stop func()) {
	sigc := make(chan os.Signal, 16)
	for s := range proxiedSignals {
		signal.Notify(sigc, s)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigc:
				// A container that is gone has nothing to signal; the
				// wait reports its end.
				c.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: proxiedSignals[s]})
			}
		}
	}()
	return func() {
		signal.Stop(sigc)
		cancel()
	}
}
