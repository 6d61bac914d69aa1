//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command pier-init is the PID 1 of pier's containers: it runs the user's
// command as its child, forwards signals to it, reaps zombies and exits with
// the child's status. The work is in internal/pid1; it is built static
// (CGO_ENABLED=0) so that it can be bind-mounted into any image.
//
// Its GOMAXPROCS is set by hand, so the go:debug lines keep Go's runtime
// from holding the cgroup's CPU limit files open for the process's whole
// life and from re-reading them. (They do not stop the one read at start:
// since Go 1.25 the runtime reads /proc/self/cgroup, mountinfo and the
// limit once whatever the setting, to count non-default GODEBUG behaviour,
// then closes them. It costs a few syscalls; no setting avoids it.)
package main

import (
	"errors"
	"os"
	"runtime"

	"github.com/pier-engine/pier/internal/pid1"
)

// init keeps main on the main thread, where pid1.Run waits for signals
// (the kernel offers signals sent to the process to that thread first), and
// drops to one P before the runtime's goroutines wake more threads.
func init() {
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)
}

func main() {
	cfg, err := pid1.ParseArgs(os.Args[1:])
	if errors.Is(err, pid1.ErrHelp) {
		os.Stdout.WriteString(pid1.Usage)
		os.Exit(0)
	}
	if err != nil {
		os.Stderr.WriteString("pier-init: " + err.Error() + "\n" + pid1.Usage)
		os.Exit(2)
	}
	code, err := pid1.Run(cfg)
	if err != nil {
		os.Stderr.WriteString("pier-init: " + err.Error() + "\n")
	}
	os.Exit(code)
}
