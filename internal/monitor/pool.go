package monitor

import (
	"errors"
	"os"
	"sync"

	"github.com/pier-engine/pier/internal/trace"
)

// Pool starts monitors for pierd, from a parked one when one is ready
// (park.go) and fresh otherwise, as when many containers start at once.
// It keeps at most one parked, and parks the next one when a Start ends
// with no other under way: the next start finds it warm, and neither the
// start that ends nor a burst of concurrent ones (which a single parked
// monitor would not serve) pays for its warm-up's CPU.
type Pool struct {
	bin    string
	stderr *os.File

	mu      sync.Mutex
	parked  *Parked // Guarded by mu.
	parking bool    // a Park is under way; guarded by mu
	starts  int     // Starts under way; guarded by mu
	parks   int     // Parks begun, ever; guarded by mu
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
	p.starts++
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

// refill ends a Start: it parks a monitor in the background unless
// another Start is under way or one is parked or being parked.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts--
	if p.closed || p.parked != nil || p.parking || p.starts > 0 {
		return
	}
	p.parking = true
	p.parks++
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

// ParkedPid is the pid of the parked monitor, 0 for none.
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
