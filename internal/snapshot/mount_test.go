package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.LeakCheckMain(m)) }

type entry struct {
	name, body, link string
	typ              byte
}

func layerTar(t *testing.T, ents ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		switch e.typ {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeChar:
			h.Devmajor, h.Devminor = 1, 3
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

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

// listing describes a tree as sorted "path type [-> link | content]" lines.
func listing(t *testing.T, root string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		kind := strings.TrimRight(fi.Mode().Type().String(), "-")
		if kind == "" {
			kind = "-"
		}
		line := rel + " " + kind
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestMountLayerChain mounts three layers that delete, hide and link each
// other's files, and checks the merged tree entry by entry.
func TestMountLayerChain(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	s := newStore(t)
	unpackTar(t, s, chain(0), "", layerTar(t,
		entry{name: "bin/busybox", body: "bb"},
		entry{name: "bin/sh", typ: tar.TypeLink, link: "bin/busybox"},
		entry{name: "etc/passwd", body: "root"},
		entry{name: "etc/shadow", body: "secret"},
		entry{name: "opt/old/a", body: "a"},
		entry{name: "opt/keep", body: "k"},
	))
	unpackTar(t, s, chain(1), chain(0), layerTar(t,
		entry{name: "etc/.wh.shadow"},
		entry{name: "opt/.wh..wh..opq"},
		entry{name: "opt/new", body: "n"},
		entry{name: "dev/null", typ: tar.TypeChar},
	))
	unpackTar(t, s, chain(2), chain(1), layerTar(t,
		entry{name: "l1", typ: tar.TypeSymlink, link: "l2"},
		entry{name: "l2", typ: tar.TypeSymlink, link: "/etc/passwd"},
		entry{name: "bin/.wh.busybox"},
	))
	root := mountRootfs(t, s, "c1", chain(2))
	want := strings.Join([]string{
		"bin d", "bin/sh - bb", "dev d", "dev/null Dc", "etc d", "etc/passwd - root",
		"l1 L -> l2", "l2 L -> /etc/passwd", "opt d", "opt/new - n",
	}, "\n")
	if got := listing(t, root); got != want {
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
		unpackTar(t, s, chain(i), parent, layerTar(t, entry{name: fmt.Sprintf("f%02d", i), body: "x"}))
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
