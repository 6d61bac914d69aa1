package archive

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func writeTree(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if f[len(f)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUpperChangesAndTar(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	writeTree(t, lower, "etc/passwd", "bin/sh", "usr/lib/x")
	writeTree(t, upper, "etc/passwd", "new/file", "etc/hosts", "copied/", "bin/")
	// bin in the upper dir is a copy-up of the lower one with nothing
	// left in it: no change. etc/hosts is a mount point to skip.
	u := Upper{Dir: upper, Lower: []string{lower}, Skip: func(rel string, fi fs.FileInfo) bool { return rel == "etc/hosts" }}
	changes, err := u.Changes()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ChangeKind{}
	for _, c := range changes {
		got[c.Path] = c.Kind
	}
	want := map[string]ChangeKind{"/etc": Modified, "/etc/passwd": Modified, "/new": Added, "/new/file": Added, "/copied": Added}
	if len(got) != len(want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%s: kind %v, want %v (all: %v)", p, got[p], k, got)
		}
	}
	var buf bytes.Buffer
	nonEmpty, err := u.Tar(&buf)
	if err != nil || !nonEmpty {
		t.Fatalf("Tar = %v, %v", nonEmpty, err)
	}
	names := map[string]bool{}
	for _, hdr := range testutil.TarHeaders(t, &buf) {
		names[hdr.Name] = true
	}
	for _, n := range []string{"etc/", "etc/passwd", "new/", "new/file", "copied/"} {
		if !names[n] {
			t.Errorf("layer lacks %s: %v", n, names)
		}
	}
	if names["etc/hosts"] || names["bin/"] {
		t.Errorf("layer has a skipped or unchanged entry: %v", names)
	}
}

func TestUpperEmpty(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	writeTree(t, lower, "etc/passwd")
	writeTree(t, upper, "etc/hosts")
	u := Upper{Dir: upper, Lower: []string{lower}, Skip: func(rel string, fi fs.FileInfo) bool { return rel == "etc/hosts" }}
	if empty, err := u.Empty(); err != nil || !empty {
		t.Errorf("Empty = %v, %v: a copied-up etc holding only a mount point is no change", empty, err)
	}
}
