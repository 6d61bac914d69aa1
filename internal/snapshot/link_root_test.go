package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestLinkOverlayForm: a whiteout (0/0 character device) is linked, an
// opaque directory keeps trusted.overlay.opaque, overlay's origin mark
// is dropped; mounted, the linked layer hides what its parent had.
func TestLinkOverlayForm(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	s := newStore(t)
	unpack(t, s, 0) // f0
	if err := s.Unpack(context.Background(), chain(1), chain(0), func(dir string) error {
		return os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.path("layers", chain(1)[7:], "fs", "etc"), "old"), []byte("o"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "fs")
	if err := os.MkdirAll(filepath.Join(src, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(src, "f0"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	for n, v := range map[string]string{"trusted.overlay.opaque": "y", "trusted.overlay.origin": "x", "user.keep": "1"} {
		if err := unix.Lsetxattr(filepath.Join(src, "etc"), n, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "etc", "new"), []byte("n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(context.Background(), chain(2), chain(1), src); err != nil {
		t.Fatal(err)
	}
	dir, _ := s.LayerDir(chain(2))
	etc := filepath.Join(dir, "etc")
	if v, err := getXattr(etc, "trusted.overlay.opaque"); err != nil || string(v) != "y" {
		t.Errorf("opaque mark: %q, %v", v, err)
	}
	if v, err := getXattr(etc, "user.keep"); err != nil || string(v) != "1" {
		t.Errorf("user xattr: %q, %v", v, err)
	}
	if _, err := getXattr(etc, "trusted.overlay.origin"); err == nil {
		t.Error("overlay's origin mark copied")
	}

	target := mountRootfs(t, s, "c1", chain(2)) // unmounted and removed at cleanup
	ents, err := os.ReadDir(filepath.Join(target, "etc"))
	if err != nil || len(ents) != 1 || ents[0].Name() != "new" {
		t.Errorf("etc in the mount: %v, %v; want only new (opaque)", ents, err)
	}
	if _, err := os.Lstat(filepath.Join(target, "f0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("whiteout: f0 visible in the mount (%v)", err)
	}
}

// TestLinkRefusesMetacopy: a metacopy file (no data of its own) is not
// linkable; nothing is left behind.
func TestLinkRefusesMetacopy(t *testing.T) {
	testutil.RequiresRoot(t)
	s := newStore(t)
	src := filepath.Join(t.TempDir(), "fs")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(src, "m")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(f, "trusted.overlay.metacopy", nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(context.Background(), chain(3), "", src); !errors.Is(err, ErrNotLinkable) {
		t.Errorf("metacopy: %v, want ErrNotLinkable", err)
	}
	if s.Has(chain(3)) {
		t.Error("layer left behind")
	}
}
