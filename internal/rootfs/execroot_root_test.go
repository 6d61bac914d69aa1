package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// MountExecRoot puts a tmpfs on a directory of a disk filesystem once (a
// second call finds it there), ReleaseExecRoot takes it down with the last
// exec root under it, and UnmountExecRoot takes down only that tmpfs: not
// one that someone else mounted.
func TestMountExecRoot(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := filepath.Join(t.TempDir(), "exec")
	t.Cleanup(func() { DetachAll(dir) })
	isTmpfs := func() bool {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		return st.Type == unix.TMPFS_MAGIC
	}
	var disk unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(dir), &disk); err != nil || disk.Type == unix.TMPFS_MAGIC {
		t.Skipf("the test's temp dir is on a tmpfs already (%v)", err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if mounted, err := MountExecRoot(dir, a); err != nil || !mounted || !isTmpfs() {
		t.Fatalf("first MountExecRoot: mounted %v, %v", mounted, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("exec root mode %v, %v; want 0711", fi.Mode(), err)
	}
	if mounted, err := MountExecRoot(dir, b); err != nil || mounted {
		t.Fatalf("second MountExecRoot: mounted %v, %v; want the first tmpfs kept", mounted, err)
	}
	if _, err := os.Stat(b); err != nil {
		t.Fatalf("second exec root not made: %v", err)
	}
	if err := ReleaseExecRoot(dir, a); err != nil || !isTmpfs() {
		t.Fatalf("ReleaseExecRoot of a: %v; tmpfs gone while b is on it: %v", err, !isTmpfs())
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("released exec root a still there: %v", err)
	}
	if err := ReleaseExecRoot(dir, b); err != nil || isTmpfs() {
		t.Fatalf("ReleaseExecRoot of the last exec root: %v; tmpfs still there: %v", err, isTmpfs())
	}
	if _, err := MountExecRoot(dir, a); err != nil || !isTmpfs() {
		t.Fatalf("MountExecRoot again: %v", err)
	}
	if err := UnmountExecRoot(dir); err != nil || isTmpfs() {
		t.Fatalf("UnmountExecRoot: %v; tmpfs still there: %v", err, isTmpfs())
	}
	if err := MountShm(dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := UnmountExecRoot(dir); err != nil || !isTmpfs() {
		t.Errorf("UnmountExecRoot took down a tmpfs that is not pier's: %v", err)
	}
}
