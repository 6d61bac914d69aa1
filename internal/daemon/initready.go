package daemon

import (
	"time"

	"github.com/moby/moby/api/types/container"
)

// PID 1 of a pid namespace drops every signal it has no handler for. Right
// after start, pier-init (a Go program) is still starting its runtime; a
// stop sent in that window would be lost and the stop would wait for its
// timeout. And a client that reads the logs right after start (docker-py's
// build tests run `ls` and read its output) must find the command started,
// as runc's start returns only once the process is at its execve. So start
// returns only once pier-init has taken SIGTERM over and its child has
// exec'd: pier-init closes its end of a readiness pipe then (internal/pid1,
// monitor.Config.InitReady), and the start waits for the pipe's EOF, an
// event, with no polling of /proc. A container without pier-init is ready
// at its command's execve, when the runtime's start returns.

// initReadyTimeout bounds the wait: a slow machine must not make start
// fail, only stop less prompt in that rare window.
const initReadyTimeout = 3 * time.Second

// usesInit reports whether pier-init is the container's PID 1.
func usesInit(host *container.HostConfig) bool {
	return host == nil || host.Init == nil || *host.Init
}
