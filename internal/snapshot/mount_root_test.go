package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/testutil"
)

func unpackTar(t *testing.T, s *Store, id, parent string, b []byte) {
	t.Helper()
	err := s.Unpack(context.Background(), id, parent, func(dir string) error {
		return archive.Extract(context.Background(), bytes.NewReader(b), dir, archive.Options{})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mountRootfs(t *testing.T, s *Store, id, chainID string) string {
	t.Helper()
	if err := s.Prepare(id, chainID); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Mount(id, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Unmount(target); err != nil {
			t.Error(err)
		}
		if err := s.Remove(id); err != nil {
			t.Error(err)
		}
	})
	return target
}

// TestMountLayerChain mounts three layers that delete, hide and link each
// other's files, and checks the merged tree entry by entry.
func TestMountLayerChain(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	s := newStore(t)
	unpackTar(t, s, chain(0), "", testutil.Tar(t,
		testutil.TarEntry{Name: "bin/busybox", Body: "bb"},
		testutil.TarEntry{Name: "bin/sh", Type: tar.TypeLink, Link: "bin/busybox"},
		testutil.TarEntry{Name: "etc/passwd", Body: "root"},
		testutil.TarEntry{Name: "etc/shadow", Body: "secret"},
		testutil.TarEntry{Name: "opt/old/a", Body: "a"},
		testutil.TarEntry{Name: "opt/keep", Body: "k"},
	))
	unpackTar(t, s, chain(1), chain(0), testutil.Tar(t,
		testutil.TarEntry{Name: "etc/.wh.shadow"},
		testutil.TarEntry{Name: "opt/.wh..wh..opq"},
		testutil.TarEntry{Name: "opt/new", Body: "n"},
		testutil.TarEntry{Name: "dev/null", Type: tar.TypeChar, Major: 1, Minor: 3},
	))
	unpackTar(t, s, chain(2), chain(1), testutil.Tar(t,
		testutil.TarEntry{Name: "l1", Type: tar.TypeSymlink, Link: "l2"},
		testutil.TarEntry{Name: "l2", Type: tar.TypeSymlink, Link: "/etc/passwd"},
		testutil.TarEntry{Name: "bin/.wh.busybox"},
	))
	root := mountRootfs(t, s, "c1", chain(2))
	want := strings.Join([]string{
		"bin d", "bin/sh - bb", "dev d", "dev/null Dc", "etc d", "etc/passwd - root",
		"l1 L -> l2", "l2 L -> /etc/passwd", "opt d", "opt/new - n",
	}, "\n")
	if got := strings.Join(testutil.Tree(t, root, testutil.TreeOptions{}), "\n"); got != want {
		t.Errorf("rootfs:\n%s\nwant:\n%s", got, want)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	lower, _ := s.LayerDir(chain(0))
	if b, _ := os.ReadFile(filepath.Join(lower, "etc/passwd")); string(b) != "root" {
		t.Errorf("a container write reached the layer: %q", b)
	}
}

// TestMountLongChain mounts more layers than one page of mount(2) options
// can name.
func TestMountLongChain(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	s, err := New(filepath.Join(t.TempDir(), strings.Repeat("long-store-path-", 6)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	for i := range n {
		parent := ""
		if i > 0 {
			parent = chain(i - 1)
		}
		unpackTar(t, s, chain(i), parent, testutil.Tar(t, testutil.TarEntry{Name: fmt.Sprintf("f%02d", i), Body: "x"}))
	}
	dirs, _ := s.Chain(chain(n - 1))
	if o := (overlay{lowers: dirs}).options(); len(o) < os.Getpagesize() {
		t.Fatalf("options only %d bytes: the test needs more layers", len(o))
	}
	root := mountRootfs(t, s, "long", chain(n-1))
	ents, err := os.ReadDir(root)
	if err != nil || len(ents) != n {
		t.Errorf("rootfs has %d entries, want %d: %v", len(ents), n, err)
	}
}

func TestMountEmptyImage(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	s := newStore(t)
	root := mountRootfs(t, s, "scratch", "")
	if err := os.WriteFile(filepath.Join(root, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
