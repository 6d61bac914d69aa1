//go:build !monitorwatch

package monitor

import (
	"context"
	"os"

	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/runtime"
	"github.com/pier-engine/pier/internal/seccomp"
)

var _ containerRuntime = libRuntime{}

// haveLibrary says this binary links pier-runtime's library; the watch
// binary (-tags monitorwatch) does not, to stay small, and its delete
// re-executes the full monitor (finish.go).
const haveLibrary = true

// libRuntime is pier-runtime as a library: create, start and delete run
// here, and only the container's own process is started, from the
// runtime binary's C preamble (runtime.Runtime.Exe). That saves a Go
// start per verb, three per container, over the command line.
type libRuntime struct{ rt *runtime.Runtime }

// newLibRuntime opens pier-runtime's state root; exe is its binary.
func newLibRuntime(root, exe string) (libRuntime, error) {
	rt, err := runtime.New(root, nil)
	if err != nil {
		return libRuntime{}, err
	}
	rt.Exe = exe
	return libRuntime{rt: rt}, nil
}

func (l libRuntime) Create(_ context.Context, id string, o ociruntime.CreateOpts) error {
	// The create compiled the seccomp filter to validate it; its syscall
	// tables would stay in this process for the container's life (1 MB of
	// the monitor's 2 MB private memory).
	defer seccomp.ReleaseTables()
	_, err := l.rt.Create(runtime.CreateOpts{
		ID: id, Bundle: o.Bundle, PidFile: o.PidFile, ConsoleSocket: o.ConsoleSocket,
		Stdio:      [3]*os.File{fileOf(o.Stdin), fileOf(o.Stdout), fileOf(o.Stderr)},
		ExtraFiles: o.ExtraFiles,
	})
	return err
}

func (l libRuntime) Start(_ context.Context, id string) error { return l.rt.Start(id) }

func (l libRuntime) Delete(_ context.Context, id string, force bool) error {
	return l.rt.Delete(id, force)
}

// fileOf is the file behind a monitor's stdio stream; the monitor passes
// only files (pipes, /dev/null).
func fileOf(v any) *os.File {
	f, _ := v.(*os.File)
	return f
}
