package daemon

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/metadata"
)

// TestCtrIndex: the index lists every container's name, sees a rename
// and a removal, and does not decode a record whose file did not change
// (one overwritten in place with its time kept would not decode).
func TestCtrIndex(t *testing.T) {
	md, err := metadata.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{newContainerID(), newContainerID()}
	for i, id := range ids {
		if err := md.Put(containerKind, id, &containerRecord{ID: id, Name: []string{"one", "two"}[i]}); err != nil {
			t.Fatal(err)
		}
	}
	var x ctrIndex
	names := func() map[string]string {
		t.Helper()
		ents, err := x.entries(md)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range ents {
			out[e.id] = e.name
		}
		return out
	}
	if got := names(); len(got) != 2 || got[ids[0]] != "one" || got[ids[1]] != "two" {
		t.Fatalf("names = %v", got)
	}

	// Garbage of the same size in place, its time restored: the stat
	// matches, so the index must not read it.
	p := filepath.Join(md.Dir(), containerKind, ids[0]+".json")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), int(fi.Size())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := names(); got[ids[0]] != "one" {
		t.Errorf("unchanged record: names = %v", got)
	}

	if err := md.Put(containerKind, ids[0], &containerRecord{ID: ids[0], Name: "renamed"}); err != nil {
		t.Fatal(err)
	}
	if err := md.Delete(containerKind, ids[1]); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 1 || got[ids[0]] != "renamed" {
		t.Errorf("after a rename and a removal: names = %v", got)
	}
	if len(x.m) != 1 {
		t.Errorf("the index keeps %d entries, want 1", len(x.m))
	}
}
