package cgroups

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestRealSiblingsChurn: cgroups made and destroyed at once under one
// shared parent, which each Destroy removes when it finds it empty (as
// BuildKit's parallel RUN steps under <parent>/buildkit): every Apply
// succeeds, and the parent is gone at the end.
func TestRealSiblingsChurn(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "cgroup2")
	testutil.CheckLeaks(t)
	parent := fmt.Sprintf("test-%d-%x", os.Getpid(), rand.Uint32())
	const workers, rounds = 4, 150
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				m, err := New(Config{Path: fmt.Sprintf("%s/shared/%d-%d", parent, w, r)})
				if err != nil {
					errs <- err
					return
				}
				aerr := m.Apply(0)
				if err := m.Destroy(); err != nil {
					errs <- fmt.Errorf("destroy: %w", err)
					return
				}
				if aerr != nil {
					errs <- fmt.Errorf("round %d: apply: %w", r, aerr)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m, err := New(Config{Path: parent})
	if err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range m.Paths() {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: %s left behind", ctrl, dir)
		}
	}
}
