package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestExecSpecProcessCache: the spec's process is decoded once per
// version of config.json; a rewrite (a rename, as pierd writes it) is
// decoded again, a removed container's entry goes, and a missing spec is
// not found.
func TestExecSpecProcessCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	write := func(arg string) {
		tmp := path + ".new"
		spec := `{"ociVersion":"1.0.2","process":{"args":["` + arg + `"],"cwd":"/"},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}}`
		if err := os.WriteFile(tmp, []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	tbl := &execTable{m: map[string]*execRecord{}, procs: map[string]specProcess{}}
	write("one")
	p1, err := tbl.specProcess("c1", path)
	if err != nil || len(p1.Args) != 1 || p1.Args[0] != "one" {
		t.Fatalf("first read = %+v, %v", p1, err)
	}
	p2, err := tbl.specProcess("c1", path)
	if err != nil || p2 != p1 {
		t.Errorf("second read of the same file decoded again (%p, %p) or failed: %v", p1, p2, err)
	}
	write("two")
	p3, err := tbl.specProcess("c1", path)
	if err != nil || p3 == p1 || p3.Args[0] != "two" {
		t.Errorf("read after a rewrite = %+v, %v; want the new process", p3, err)
	}
	tbl.forgetContainer("c1")
	if _, ok := tbl.procs["c1"]; ok {
		t.Error("a removed container's process stays cached")
	}
	if _, err := tbl.specProcess("c2", filepath.Join(dir, "none.json")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing spec: %v, want not found", err)
	}
}
