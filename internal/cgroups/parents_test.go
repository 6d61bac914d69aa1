package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

// TestApplyParentRemoved: a cgroup whose parent another cgroup's Destroy
// removes (it was that one's last child) between Apply's mkdir of the
// parent and of the cgroup itself is made all the same: BuildKit's RUN
// steps share <parent>/buildkit, and a step ending beside one starting
// failed the starting one with ENOENT.
func TestApplyParentRemoved(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fakeFS) {
		other := f.manager(Config{Path: "a/b/other"})
		if err := other.Apply(0); err != nil {
			t.Fatal(err)
		}
		m := f.manager(Config{Path: "a/b/c"})
		mkdir, raced := kernel.mkdir, false
		kernel.mkdir = func(dir string) error {
			if !raced && filepath.Base(dir) == "c" {
				// The parent was seen; the other cgroup ends and takes it.
				raced = true
				f.exit(other)
				if err := other.Destroy(); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
					t.Fatalf("parent of %s not removed by the other Destroy: %v", dir, err)
				}
			}
			return mkdir(dir)
		}
		if err := m.Apply(fakePid); err != nil {
			t.Fatalf("Apply with its parent removed meanwhile: %v", err)
		}
		if !raced {
			t.Fatal("the race was not staged")
		}
		for ctrl, dir := range m.Paths() {
			if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
				t.Errorf("%q: %v", ctrl, err)
			}
		}
		f.exit(m)
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
	})
}
