package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The start gate lets pierd finish a container's network while the
// monitor creates the container: the runtime's create needs only the
// network namespace, the container's command must not run before its
// interfaces are up. The monitor waits at the gate between create and
// start (Config.StartGate, a FIFO pierd made and holds open read-write):
//
//	pierd: mkfifo, open O_RDWR ─ config ─▶ monitor: create ...
//	pierd: network done: write 'k'        monitor: open O_RDONLY|O_NONBLOCK,
//	                                               read: 'k' → start
//	pierd: network failed, or pierd died:          EOF (no writer left) →
//	       close without a byte                    abort, nothing runs
//
// pierd keeps its end open until the monitor reported the start, so a
// byte written is never lost with the FIFO's last descriptor; its death,
// even by SIGKILL, closes that end, so a monitor never waits for a dead
// pierd.

// gateOpen is the byte that opens the gate.
const gateOpen = 'k'

// StartGate is pierd's end of a start gate.
type StartGate struct {
	path string
	f    *os.File
}

// NewStartGate makes the FIFO path (replacing a leftover) and opens it
// read-write, which neither blocks nor leaves the FIFO without a writer.
func NewStartGate(path string) (*StartGate, error) {
	_ = os.Remove(path)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("start gate %s: mkfifo: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("start gate %s: %w", path, err)
	}
	return &StartGate{path: path, f: f}, nil
}

// Path is the FIFO's path, for Config.StartGate.
func (g *StartGate) Path() string { return g.path }

// Open lets the container start.
func (g *StartGate) Open() error {
	if _, err := g.f.Write([]byte{gateOpen}); err != nil {
		return fmt.Errorf("start gate %s: %w", g.path, err)
	}
	return nil
}

// Close closes pierd's end and removes the FIFO, once the monitor has
// reported the start (or its failure); a gate never opened fails the
// start.
func (g *StartGate) Close() {
	_ = g.f.Close()
	_ = os.Remove(g.path)
}

// gateTimeout bounds the monitor's wait at the gate: pierd's end closes
// at its death, so this only guards against a pierd that hangs.
const gateTimeout = 2 * time.Minute

// errGateClosed says pierd closed the gate without opening it.
var errGateClosed = errors.New("start gate closed: the container's network was not set up")

// waitGate waits at the gate at path until pierd opens it (nil) or
// closes it (an error). Opening without blocking works with any writer
// or none: with none (pierd gone), the read sees EOF at once.
func waitGate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("start gate %s: %w", path, err)
	}
	defer f.Close()
	_ = f.SetReadDeadline(time.Now().Add(gateTimeout))
	var b [1]byte
	n, err := f.Read(b[:])
	switch {
	case n == 1 && b[0] == gateOpen:
		return nil
	case err == nil || errors.Is(err, io.EOF):
		return errGateClosed
	default:
		return fmt.Errorf("start gate %s: %w", path, err)
	}
}
