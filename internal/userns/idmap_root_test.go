package userns

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestBindIDMapped(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "userns")
	dir := t.TempDir()
	user := filepath.Join(dir, "user")
	if err := NewPod(Paths{User: user}, Mapping{HostID: 200000, Size: 65536}, Mapping{HostID: 200000, Size: 65536}, ""); err != nil {
		t.Fatal(err)
	}
	defer Delete(user)
	src := filepath.Join(dir, "vol")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, dst string }{{src, filepath.Join(dir, "d")}, {filepath.Join(src, "f"), filepath.Join(dir, "file")}} {
		if err := BindIDMapped(c.src, c.dst, user); err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(c.dst, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 200000 || st.Gid != 200000 {
			t.Errorf("%s through the idmapped mount: %d:%d, want 200000 (the namespace's root)", c.src, st.Uid, st.Gid)
		}
		if err := Unbind(c.dst); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(c.dst); !os.IsNotExist(err) {
			t.Errorf("%s left after Unbind: %v", c.dst, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(src, "f")); err != nil || string(b) != "x" {
		t.Errorf("the source after Unbind: %q %v", b, err)
	}
	if err := BindIDMapped(filepath.Join(dir, "missing"), filepath.Join(dir, "m"), user); err == nil {
		t.Error("a missing source: no error")
	}
	if err := BindIDMapped(src, filepath.Join(dir, "n"), filepath.Join(dir, "nouserns")); err == nil {
		t.Error("a missing user namespace file: no error")
	}
	if _, err := os.Lstat(filepath.Join(dir, "n")); !os.IsNotExist(err) {
		t.Errorf("a failed BindIDMapped left its target: %v", err)
	}
}
