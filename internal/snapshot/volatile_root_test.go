package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestMountVolatile: a run --rm container's layer is mounted with overlay's
// volatile option (no sync of the upper file system at unmount), works as
// a writable rootfs, and unmounts and removes like any other; Mount's
// layers stay without it.
func TestMountVolatile(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "overlay")
	s := newStore(t)
	if err := s.Prepare("rm", ""); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.MountVolatile("rm", target); err != nil {
		t.Fatal(err)
	}
	opts := mountOptions(t, target)
	if err := os.WriteFile(filepath.Join(target, "f"), []byte("x"), 0o644); err != nil {
		t.Error(err)
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("rm"); err != nil {
		t.Fatal(err)
	}
	if !isVolatile(opts) {
		t.Errorf("volatile layer mounted with %q", opts)
	}
	plain := mountRootfs(t, s, "keep", "")
	if o := mountOptions(t, plain); isVolatile(o) {
		t.Errorf("Mount's layer is volatile: %q", o)
	}
}

// isVolatile reads overlay's option as the kernel shows it: "volatile",
// or "fsync=volatile" since Linux 6.x.
func isVolatile(opts string) bool {
	return strings.Contains(","+opts+",", ",volatile,") || strings.Contains(","+opts+",", ",fsync=volatile,")
}

// mountOptions are the super block options of the mount on target.
func mountOptions(t *testing.T, target string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == target {
			return f[len(f)-1]
		}
	}
	t.Fatalf("%s is not a mount point", target)
	return ""
}
