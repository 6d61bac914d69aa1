package daemon

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/monitor"
)

// Clients that attach to a container before its start (docker run, start
// -a) must see its first bytes: they register here, the start tells the
// monitor how many to wait for (monitorConfig), and they dial its attach
// socket as soon as it is launched.
type attachTable struct {
	mu sync.Mutex
	m  map[string]*attachWait // by container id; Guarded by mu; made on first use.
}

// attachWait is the clients waiting for one container's next start.
type attachWait struct {
	n       int
	started chan struct{} // closed when the monitor is launched
}

// attachSocket is where container id's monitor serves attaches.
func (d *Daemon) attachSocket(id string) string {
	return filepath.Join(d.paths(id).run, "attach.sock")
}

// awaitStart registers one client for container id's next start; cancel
// withdraws it unless the start has taken it already.
func (d *Daemon) awaitStart(id string) (started <-chan struct{}, cancel func()) {
	d.attaches.mu.Lock()
	defer d.attaches.mu.Unlock()
	w := d.attaches.m[id]
	if w == nil {
		if d.attaches.m == nil {
			d.attaches.m = map[string]*attachWait{}
		}
		w = &attachWait{started: make(chan struct{})}
		d.attaches.m[id] = w
	}
	w.n++
	return w.started, func() {
		d.attaches.mu.Lock()
		defer d.attaches.mu.Unlock()
		if d.attaches.m[id] == w {
			if w.n--; w.n == 0 {
				delete(d.attaches.m, id)
			}
		}
	}
}

// takeAttachWaits is called as container id's monitor is launched: it
// returns how many clients to wait for and lets them dial.
func (d *Daemon) takeAttachWaits(id string) int {
	d.attaches.mu.Lock()
	defer d.attaches.mu.Unlock()
	w := d.attaches.m[id]
	if w == nil {
		return 0
	}
	delete(d.attaches.m, id)
	close(w.started)
	return w.n
}

// dialAttach connects to a monitor that is being launched: its socket
// appears before the runtime's create, which may take a while.
func dialAttach(ctx context.Context, path string, flags byte) (*monitor.Attachment, error) {
	deadline := time.Now().Add(monitor.AttachWaitTimeout)
	for {
		a, err := monitor.Attach(path, flags)
		if err == nil || time.Now().After(deadline) {
			return a, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
