package rootfs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

// Detach of a path where nothing is mounted, or that does not exist, is
// not an error (pierd calls it to clear what a crash may have left). An
// unprivileged caller gets EPERM first and may only see that.
func TestDetachNothingMounted(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "missing")} {
		if err := Detach(p); err != nil && !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Detach(%s) = %v", p, err)
		}
	}
}
