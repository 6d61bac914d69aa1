package metadata

import (
	"errors"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestDeleteLazy: the record is gone at once, as with Delete; a missing
// one is not found.
func TestDeleteLazy(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", "a", map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLazy("k", "a"); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := s.Get("k", "a", &v); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after DeleteLazy: Get = %v, want not found", err)
	}
	if err := s.DeleteLazy("k", "a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("DeleteLazy of a missing record = %v, want not found", err)
	}
}
