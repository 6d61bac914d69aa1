package archive

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestExtractRootOverlayForm checks what only root can make: owners,
// device nodes, trusted xattrs and overlayfs whiteouts.
func TestExtractRootOverlayForm(t *testing.T) {
	testutil.RequiresRoot(t)
	dst := t.TempDir()
	err := extract(t, dst, Options{},
		testutil.TarEntry{Name: "dev/null", Type: tar.TypeChar, Major: 1, Minor: 3, Mode: 0o666},
		testutil.TarEntry{Name: "dev/sda", Type: tar.TypeBlock, Major: 8, Mode: 0o660},
		testutil.TarEntry{Name: "home/u/f", Body: "x", Mode: 0o4750},
		testutil.TarEntry{Name: ".wh.gone"},
		testutil.TarEntry{Name: "opq/.wh..wh..opq"},
		testutil.TarEntry{Name: "opq/new", Body: "n"},
		testutil.TarEntry{Name: "forged", Body: "x", Xattrs: map[string]string{"trusted.overlay.redirect": "/etc", "trusted.pier": "t"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dst, "dev/null"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("dev/null: mode %o rdev %d: %v", st.Mode, st.Rdev, err)
	}
	if err := unix.Lstat(filepath.Join(dst, "dev/sda"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		t.Errorf("dev/sda: mode %o: %v", st.Mode, err)
	}
	if err := unix.Lstat(filepath.Join(dst, "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("gone is not a 0:0 whiteout: mode %o rdev %d: %v", st.Mode, st.Rdev, err)
	}
	if _, err := os.Lstat(filepath.Join(dst, ".wh.gone")); !os.IsNotExist(err) {
		t.Errorf(".wh.gone kept: %v", err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(dst, "opq"), opaqueXattr, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opq not opaque: %q %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(dst, "forged"), "trusted.overlay.redirect", buf); err == nil {
		t.Error("a layer set trusted.overlay.redirect")
	}
	if n, err := unix.Lgetxattr(filepath.Join(dst, "forged"), "trusted.pier", buf); err != nil || string(buf[:n]) != "t" {
		t.Errorf("trusted.pier: %q %v", buf[:n], err)
	}
	if err := unix.Lstat(filepath.Join(dst, "home/u/f"), &st); err != nil || st.Mode&0o7777 != 0o4750 {
		t.Errorf("home/u/f mode %o: %v", st.Mode&0o7777, err)
	}
}

func TestExtractRootOwners(t *testing.T) {
	testutil.RequiresRoot(t)
	dst := t.TempDir()
	buf := tarOf(t, []*tar.Header{
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000, Gid: 1001},
		{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o2755, Uid: 1000, Gid: 1001},
		{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "f", Uid: 7, Gid: 8},
	})
	if err := extract2(dst, buf); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][3]uint32{"d": {1000, 1001, 0o755}, "d/f": {1000, 1001, 0o2755}, "d/l": {7, 8, 0o777}} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dst, p), &st); err != nil {
			t.Fatal(err)
		}
		if got := [3]uint32{st.Uid, st.Gid, st.Mode & 0o7777}; got != want {
			t.Errorf("%s: uid,gid,mode = %v want %v", p, got, want)
		}
	}
}
