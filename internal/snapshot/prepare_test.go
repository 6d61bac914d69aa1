package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// PrepareOrdered makes the same layer as Prepare, with the same refusals;
// only what it waits for differs.
func TestPrepareOrdered(t *testing.T) {
	s := newStore(t)
	unpack(t, s, 0)
	if err := s.PrepareOrdered("c1", chain(0)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"upper", "work"} {
		if fi, err := os.Stat(s.path("active", "c1", d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if b, err := os.ReadFile(s.path("active", "c1", "parent")); err != nil || string(b) != chain(0) {
		t.Errorf("parent = %q, %v, want %q", b, err, chain(0))
	}
	if err := s.PrepareOrdered("c1", chain(0)); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second prepare: %v, want ErrAlreadyExists", err)
	}
	if err := s.PrepareOrdered("c2", chain(5)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("prepare on a missing layer: %v, want ErrNotFound", err)
	}
	if left, _ := os.ReadDir(s.path("tmp")); len(left) != 0 {
		t.Errorf("tmp holds %d entries after the prepares", len(left))
	}
	if _, err := os.Stat(filepath.Join(s.path("active"), "c2")); !os.IsNotExist(err) {
		t.Errorf("a refused prepare left its layer: %v", err)
	}
}
