package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// ExecRootParent holds pierd's default exec roots (daemon.ExecRootParent):
// the leak check lists its entries, which a test's pierd without
// --exec-root would leave behind.
const ExecRootParent = "/run/pier/exec"

// ExecRoot is an exec root for a test's pierd in dir, unmounted and
// removed when the test ends (after the pierd's own cleanup, which
// t.Cleanup runs first if registered later). pierd never removes its exec
// root: the containers it leaves running use it.
func ExecRoot(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "exec")
	t.Cleanup(func() {
		for unix.Unmount(p, unix.MNT_DETACH) == nil {
		}
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove exec root: %v", err)
		}
	})
	return p
}

// execRoots lists the exec roots under ExecRootParent.
func execRoots() map[string]bool {
	out := map[string]bool{}
	for name := range dirNames(ExecRootParent) {
		out[filepath.Join(ExecRootParent, name)] = true
	}
	return out
}
