package monitor

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestPoolParksOnlyWhenIdle runs concurrent starts of a binary that does
// not exist: the pool must try no park while another start is under way,
// and try one once the last has ended (it fails too, which leaves the
// pool empty and usable).
func TestPoolParksOnlyWhenIdle(t *testing.T) {
	p := NewPool(filepath.Join(t.TempDir(), "no-such-monitor"), nil)
	defer p.Close()
	p.mu.Lock()
	p.starts = 1 // a start under way
	p.mu.Unlock()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := validConfig()
			if _, err := p.Start(filepath.Join(t.TempDir(), "monitor.json"), cfg); err == nil {
				t.Error("a start of a missing binary succeeded")
			}
		}()
	}
	wg.Wait()
	p.mu.Lock()
	parks := p.parks
	p.mu.Unlock()
	if parks != 0 {
		t.Errorf("the pool began %d parks while a start was under way, want 0", parks)
	}
	p.refill() // the first start ends: now it parks (and fails: no binary)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parks != 1 || p.starts != 0 || p.parking || p.parked != nil {
		t.Errorf("after the last start: %d parks begun, starts %d, parking %v, parked %v; want 1, 0, false, nil",
			p.parks, p.starts, p.parking, p.parked)
	}
}
