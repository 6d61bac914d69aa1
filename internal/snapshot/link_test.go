package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// linkSource is a layer's files as BuildKit leaves them in a committed
// snapshot: nested directories with their own modes and times, a file,
// an executable and a symlink.
func linkSource(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "fs")
	for _, d := range []string{"app/sub", "empty"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(src, p), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("app/big", "data", 0o644)
	write("app/sub/run", "#!/bin/sh", 0o755)
	if err := os.Symlink("big", filepath.Join(src, "app/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "app/sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, d := range []string{"app/sub", "app", "empty", "."} {
		if err := os.Chtimes(filepath.Join(src, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestLink: the layer holds src's entries, its files and symlink as the
// same inodes (no data copied), its directories made anew with src's
// modes and times; the source can go and the layer keeps its data.
func TestLink(t *testing.T) {
	s := newStore(t)
	src := linkSource(t)
	if err := s.Link(context.Background(), chain(1), "", src); err != nil {
		t.Fatal(err)
	}
	if !s.Has(chain(1)) {
		t.Fatal("linked layer missing")
	}
	dir, _ := s.LayerDir(chain(1))
	for _, p := range []string{"app/big", "app/sub/run", "app/link"} {
		if a, b := inode(t, filepath.Join(src, p)), inode(t, filepath.Join(dir, p)); a != b {
			t.Errorf("%s: inode %d, source's %d: not a hard link", p, b, a)
		}
	}
	for _, p := range []string{".", "app", "app/sub", "empty"} {
		sfi, err1 := os.Lstat(filepath.Join(src, p))
		dfi, err2 := os.Lstat(filepath.Join(dir, p))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !dfi.IsDir() || dfi.Mode() != sfi.Mode() || !dfi.ModTime().Equal(sfi.ModTime()) {
			t.Errorf("%s: %v %v, source %v %v", p, dfi.Mode(), dfi.ModTime(), sfi.Mode(), sfi.ModTime())
		}
		if inode(t, filepath.Join(src, p)) == inode(t, filepath.Join(dir, p)) {
			t.Errorf("%s: directory shared, not made anew", p)
		}
	}
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "app/big")); err != nil || string(b) != "data" {
		t.Errorf("after the source is gone: %q, %v", b, err)
	}
}

// TestLinkBadSource: a missing or non-directory source fails and leaves
// no layer and nothing in tmp/.
func TestLinkBadSource(t *testing.T) {
	s := newStore(t)
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(context.Background(), chain(2), "", file); !errors.Is(err, ErrNotLinkable) {
		t.Errorf("file as source: %v, want ErrNotLinkable", err)
	}
	if err := s.Link(context.Background(), chain(2), "", filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrNotLinkable) {
		t.Errorf("missing source: %v, want ErrNotLinkable", err)
	}
	if s.Has(chain(2)) {
		t.Error("a failed link left a layer")
	}
	if ents, _ := os.ReadDir(s.path("tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d entries after failed links", len(ents))
	}
}
