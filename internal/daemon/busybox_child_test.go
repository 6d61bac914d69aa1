package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/image"
)

// With a helper, the default busybox image is made in a child process
// (here this test binary, TestMain's builder mode), and it is the image
// the daemon's own process makes: same id.
func TestDefaultBusyboxInChild(t *testing.T) {
	bin := image.BusyboxPath
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no static busybox at %s (Debian's busybox-static): %v", bin, err)
	}
	noBusybox := func(c *Config) { c.busybox = filepath.Join(t.TempDir(), "none") }
	ctx := context.Background()
	child := newTestDaemon(t, fakeRuntime(t), noBusybox)
	child.busybox, child.cfg.Helper = bin, os.Args[0]
	inproc := newTestDaemon(t, fakeRuntime(t), noBusybox)
	inproc.busybox = bin
	for _, d := range []*Daemon{child, inproc} {
		if err := d.ensureBusybox(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, err := child.ImageInspect(ctx, busyboxRef)
	if err != nil {
		t.Fatal(err)
	}
	b, err := inproc.ImageInspect(ctx, busyboxRef)
	if err != nil || a.ID != b.ID {
		t.Errorf("busybox made in a child %s, in process %s (%v)", a.ID, b.ID, err)
	}
	// A helper that fails is an error naming it.
	failing := newTestDaemon(t, fakeRuntime(t), noBusybox)
	failing.busybox, failing.cfg.Helper = bin, "/bin/false"
	if err := failing.ensureBusybox(ctx); err == nil || !strings.Contains(err.Error(), "/bin/false") {
		t.Errorf("failing helper: %v", err)
	}
	if code := BuildBusyboxMain([]string{"too", "few"}); code != 2 {
		t.Errorf("BuildBusyboxMain with 2 args = %d, want 2", code)
	}
}
