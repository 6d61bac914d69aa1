package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteVolatileReplacesWithMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteVolatile(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	st, serr := os.Stat(p)
	if err != nil || serr != nil || string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("content %q (%v), mode %v (%v); want \"new\", 0600", b, err, st.Mode(), serr)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("%d entries in the dir, want only the target (no temporary left)", len(ents))
	}
	if err := WriteVolatile(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
}
