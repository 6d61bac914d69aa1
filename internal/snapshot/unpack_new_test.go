package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// UnpackNew names the layer after fill has run; a layer of that name
// already there wins, and a failed fill leaves nothing.
func TestUnpackNew(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	write := func(name string, n int) func(string) (string, error) {
		return func(dir string) (string, error) {
			for i := range n {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%d", name, i)), []byte(name), 0o644); err != nil {
					return "", err
				}
			}
			return chain(7), nil
		}
	}
	// More entries than fsyncMax: flushed with syncfs.
	if err := s.UnpackNew(ctx, chain(6), write("a", fsyncMax+10)); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Parent(chain(7)); err != nil || p != chain(6) {
		t.Fatalf("parent %q, %v", p, err)
	}
	dir, _ := s.LayerDir(chain(7))
	if b, err := os.ReadFile(filepath.Join(dir, "a3")); err != nil || string(b) != "a" {
		t.Errorf("a3: %q, %v", b, err)
	}
	// The same id again (one file: fsynced): the first layer stays.
	if err := s.UnpackNew(ctx, chain(6), write("b", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b0")); err == nil {
		t.Error("a second layer of the same id replaced the first")
	}
	boom := errors.New("boom")
	err := s.UnpackNew(ctx, "", func(dir string) (string, error) {
		_ = os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
		return chain(8), boom
	})
	if !errors.Is(err, boom) || s.Has(chain(8)) {
		t.Errorf("failed fill: %v, layer made: %v", err, s.Has(chain(8)))
	}
	if err := s.UnpackNew(ctx, "", func(string) (string, error) { return "../x", nil }); err == nil {
		t.Error("a bad chain id was accepted")
	}
	if ents, _ := os.ReadDir(s.path("tmp")); len(ents) != 0 {
		t.Errorf("tmp holds %v", ents)
	}
}
