package monitor

import (
	"errors"
	"os"
	"sync"

	"github.com/pier-engine/pier/internal/trace"
)

// Pool starts monitors for pierd, from a parked one when one is ready
// (park.go) and fresh otherwise, as when many containers start at once.
// It keeps at most one parked: the first Start parks one, and each Start
// that takes it parks the next once its container has started, so that
// the next start finds it warm and this one is not slowed by its warm-up.
type Pool struct {
	bin    string
	stderr *os.File

	mu      sync.Mutex
	parked  *Parked // Guarded by mu.
	parking bool    // a Park is under way; guarded by mu
	closed  bool    // Guarded by mu.
	wg      sync.WaitGroup
}

// NewPool is a pool of the monitor binary bin; stderr receives the
// monitors' own errors (nil discards them).
func NewPool(bin string, stderr *os.File) *Pool { return &Pool{bin: bin, stderr: stderr} }

// Start is Start(bin, configPath, cfg, stderr) through the pool.
func (p *Pool) Start(configPath string, cfg Config) (*Monitor, error) {
	p.mu.Lock()
	pk := p.parked
	p.parked = nil
	p.mu.Unlock()
	defer p.refill()
	if pk != nil {
		m, err := pk.Start(configPath, cfg)
		if !errors.Is(err, errParkedGone) {
			return m, err
		}
	}
	trace.Mark("pierd", "monitor: no parked one, fork+exec")
	return Start(p.bin, configPath, cfg, p.stderr)
}

// refill parks a monitor in the background unless one is parked or being
// parked.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.parked != nil || p.parking {
		return
	}
	p.parking = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pk, err := Park(p.bin, p.stderr)
		p.mu.Lock()
		p.parking = false
		if err == nil && !p.closed {
			p.parked, pk = pk, nil
		}
		p.mu.Unlock()
		if pk != nil {
			pk.Close()
		}
	}()
}

// Parked is the pid of the parked monitor, 0 for none.
func (p *Pool) ParkedPid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parked == nil {
		return 0
	}
	return p.parked.Pid()
}

// Close ends the parked monitor (it has no container) and reaps it, and
// parks no more. Monitors with containers are not the pool's: they go on.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	pk := p.parked
	p.parked = nil
	p.mu.Unlock()
	p.wg.Wait()
	if pk == nil {
		return nil
	}
	return pk.Close()
}
