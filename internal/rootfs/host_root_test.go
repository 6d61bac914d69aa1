package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// MountShm makes a sized tmpfs in the test's own directory, and Detach
// takes it down and is harmless twice.
func TestMountShmAndDetach(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := filepath.Join(t.TempDir(), "shm")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := MountShm(dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DetachAll(dir) })
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC || uint64(st.Blocks)*uint64(st.Bsize) != 1<<20 {
		t.Fatalf("statfs: type %#x, %d bytes; want tmpfs of 1 MiB", st.Type, uint64(st.Blocks)*uint64(st.Bsize))
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o777 || fi.Mode()&os.ModeSticky == 0 {
		t.Fatalf("mode %v, %v; want 1777", fi.Mode(), err)
	}
	for range 2 {
		if err := Detach(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Statfs(dir, &st); err != nil || st.Type == unix.TMPFS_MAGIC && st.Blocks == 256 {
		t.Fatalf("still mounted after Detach: %#x, %v", st.Type, err)
	}
}
