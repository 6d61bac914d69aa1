package testutil

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTree(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "a/skip"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "a/f"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "a/skip/g"), []byte("y"), 0o644))
	must(os.Symlink("a/f", filepath.Join(dir, "l")))

	got := Tree(t, dir, TreeOptions{Skip: filepath.Join(dir, "a/skip")})
	want := []string{"a d", "a/f - x", "l L -> a/f"}
	if !slices.Equal(got, want) {
		t.Errorf("Tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	before := Tree(t, dir, TreeOptions{Meta: true})
	if len(before) != 5 || !strings.HasPrefix(before[1], "a/f - -rw-r--r-- ") {
		t.Fatalf("Tree with Meta:\n%s", strings.Join(before, "\n"))
	}
	must(os.Chtimes(filepath.Join(dir, "a/f"), time.Time{}, time.Unix(1, 0)))
	if after := Tree(t, dir, TreeOptions{Meta: true}); slices.Equal(before, after) {
		t.Error("Tree with Meta missed an mtime change")
	}
}
