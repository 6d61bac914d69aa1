package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func chain(i int) string { return fmt.Sprintf("sha256:%064x", i) }

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unpack makes layer i on top of layer i-1 holding the file "f<i>".
func unpack(t *testing.T, s *Store, i int) {
	t.Helper()
	parent := ""
	if i > 0 {
		parent = chain(i - 1)
	}
	err := s.Unpack(context.Background(), chain(i), parent, func(dir string) error {
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), []byte("x"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnpackAtomicAndOnce(t *testing.T) {
	s := newStore(t)
	err := s.Unpack(context.Background(), chain(0), "", func(dir string) error {
		if err := os.WriteFile(filepath.Join(dir, "half"), nil, 0o644); err != nil {
			return err
		}
		return errors.New("download broke")
	})
	if err == nil || s.Has(chain(0)) {
		t.Fatalf("failed unpack left a layer: %v", err)
	}
	if ents, _ := os.ReadDir(s.path("tmp")); len(ents) != 0 {
		t.Errorf("tmp not cleaned: %v", ents)
	}
	unpack(t, s, 0)
	called := false
	if err := s.Unpack(context.Background(), chain(0), "", func(string) error { called = true; return nil }); err != nil || called {
		t.Errorf("second unpack: called=%v err=%v", called, err)
	}
}

func TestNewCleansLeftovers(t *testing.T) {
	s := newStore(t)
	if err := os.MkdirAll(s.path("tmp", "abc-123", "fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(s.root); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(s.path("tmp")); len(ents) != 0 {
		t.Errorf("leftovers survive New: %v", ents)
	}
}

func TestChainOrder(t *testing.T) {
	s := newStore(t)
	for i := 2; i >= 0; i-- { // any order, as concurrent downloads finish
		unpack(t, s, i)
	}
	dirs, err := s.Chain(chain(2))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{s.path("layers", chain(2)[7:], "fs"), s.path("layers", chain(1)[7:], "fs"), s.path("layers", chain(0)[7:], "fs")}
	if !slices.Equal(dirs, want) {
		t.Errorf("chain %v, want %v", dirs, want)
	}
}

func TestRefusesBadIDs(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"", "..", "sha256:../x", "a/b"} {
		if err := s.Prepare(id, ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Prepare(%q) = %v", id, err)
		}
	}
}

func TestInUseAndGC(t *testing.T) {
	s := newStore(t)
	for i := range 4 {
		unpack(t, s, i)
	}
	if err := s.Prepare("c1", chain(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveLayer(chain(1)); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("removing a layer in use: %v", err)
	}
	if err := s.RemoveLayer(chain(0)); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("removing a parent: %v", err)
	}
	// Keep nothing: c1 still holds 1 and 0; 3 and 2 go.
	removed, err := s.GC(func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{chain(2), chain(3)}; !slices.Equal(removed, want) {
		t.Errorf("GC removed %v, want %v", removed, want)
	}
	if err := s.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.path("active", "c1")); !os.IsNotExist(err) {
		t.Errorf("upper dir survives Remove: %v", err)
	}
	if removed, _ := s.GC(func(string) bool { return false }); len(removed) != 2 {
		t.Errorf("GC after Remove removed %v", removed)
	}
	if layers, _ := s.Layers(); len(layers) != 0 {
		t.Errorf("layers left: %v", layers)
	}
}

func TestLegacyOptions(t *testing.T) {
	o := overlay{lowers: []string{"/a:b", "/c,d"}, upper: "/u", work: "/w"}
	if got, want := o.options(), `lowerdir=/a\:b:/c\,d,upperdir=/u,workdir=/w`; got != want {
		t.Errorf("options %q, want %q", got, want)
	}
}
