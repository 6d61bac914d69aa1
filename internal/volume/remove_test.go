package volume

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func usedSet(names ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(names, n) }
}

func TestRemove(t *testing.T) {
	e := newEnv(t)
	v, _ := e.s.Create("rm", nil, nil)
	os.MkdirAll(filepath.Join(v.Mountpoint, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(v.Mountpoint, "a", "b", "f"), []byte("x"), 0o644)

	err := e.s.Remove("rm", true, usedSet("rm"))
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("Remove in use (force) = %v, want ErrConflict", err)
	}
	if _, err := e.s.Get("rm"); err != nil {
		t.Fatalf("refused remove lost the volume: %v", err)
	}
	if err := e.s.Remove("rm", false, usedSet("other")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Get("rm"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Get after remove = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(e.root, "volumes"))
	if len(entries) != 0 {
		t.Fatalf("left in volumes dir: %v", entries)
	}
	if err := e.s.Remove("rm", false, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Remove of missing = %v, want ErrNotFound", err)
	}
	if err := e.s.Remove("rm", true, nil); err != nil {
		t.Fatalf("Remove -f of missing = %v, want nil", err)
	}
	e.restart(t)
	if _, err := e.s.Get("rm"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("removed volume back after restart: %v", err)
	}
}

// A container may plant links in its volume that point at the host; removing
// the volume deletes the links and leaves their targets alone.
func TestRemoveDoesNotFollowSymlinks(t *testing.T) {
	e := newEnv(t)
	outside := t.TempDir()
	target := filepath.Join(outside, "precious")
	os.WriteFile(target, []byte("keep me"), 0o644)
	targetDir := filepath.Join(outside, "dir")
	os.MkdirAll(targetDir, 0o755)
	os.WriteFile(filepath.Join(targetDir, "inner"), []byte("keep"), 0o644)

	v, _ := e.s.Create("hostile", nil, nil)
	must(t, os.Symlink(target, filepath.Join(v.Mountpoint, "link-file")))
	must(t, os.Symlink(targetDir, filepath.Join(v.Mountpoint, "link-dir")))
	must(t, os.Symlink("../../../../../..", filepath.Join(v.Mountpoint, "up")))
	// The volume's own _data replaced by a link to the outside.
	w, _ := e.s.Create("hostile2", nil, nil)
	must(t, os.RemoveAll(w.Mountpoint))
	must(t, os.Symlink(targetDir, w.Mountpoint))

	must(t, e.s.Remove("hostile", false, nil))
	must(t, e.s.Remove("hostile2", false, nil))
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep me" {
		t.Fatalf("link target: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(targetDir, "inner")); err != nil {
		t.Fatalf("linked dir's content: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(e.root, "volumes", "hostile")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("volume dir still there: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(t.TempDir(), "big")
	os.WriteFile(outside, make([]byte, 1<<20), 0o644)

	v, _ := e.s.Create("du", nil, nil)
	if n, err := e.s.Usage("du"); err != nil || n != 0 {
		t.Fatalf("empty volume usage = %d, %v", n, err)
	}
	os.MkdirAll(filepath.Join(v.Mountpoint, "sub"), 0o755)
	os.WriteFile(filepath.Join(v.Mountpoint, "a"), make([]byte, 1000), 0o644)
	os.WriteFile(filepath.Join(v.Mountpoint, "sub", "b"), make([]byte, 24), 0o644)
	must(t, os.Link(filepath.Join(v.Mountpoint, "a"), filepath.Join(v.Mountpoint, "sub", "a-hard")))
	link := filepath.Join(v.Mountpoint, "out")
	must(t, os.Symlink(outside, link))
	linkSize := int64(len(outside)) // a link's size is its target's length

	n, err := e.s.Usage("du")
	if err != nil {
		t.Fatal(err)
	}
	if want := 1000 + 24 + linkSize; n != want {
		t.Fatalf("usage = %d, want %d (hard link once, symlink not followed)", n, want)
	}
	if _, err := e.s.Usage("nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Usage of missing = %v", err)
	}
}
