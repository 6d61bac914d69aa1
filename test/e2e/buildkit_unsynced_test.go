package e2e_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildKitUnsyncedBoot: BuildKit's databases commit without fsync
// (internal/buildkit/dbsync.go). While BuildKit runs, its root holds a
// mark naming this boot; a clean stop syncs and removes it; after kill -9
// the mark of this boot keeps the cache (the page cache held every
// commit); a mark of another boot, what a power loss would leave,
// discards the cache, and the next build runs its steps again and works.
func TestBuildKitUnsyncedBoot(t *testing.T) {
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo one > /one\n"})
	build := func(want int, why string) {
		t.Helper()
		code, out, errs := r.docker("/usr/bin/docker", nil, "build", "--progress=plain", "-t", "bkmark", ctx)
		if code != 0 {
			t.Fatalf("build (%s) = %d\n%s\n%s\npierd:\n%s", why, code, out, errs, r.d.stderr)
		}
		if n := ranSteps(out + errs); n != want {
			t.Errorf("build (%s) ran %d RUN steps, want %d:\n%s", why, n, want, out+errs)
		}
	}
	mark := filepath.Join(r.d.root, "buildkit", "unsynced-since-boot")
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	markIs := func(want []byte, when string) {
		t.Helper()
		got, err := os.ReadFile(mark)
		switch {
		case want == nil && !os.IsNotExist(err):
			t.Errorf("%s: mark %q present (%v), want none", when, got, err)
		case want != nil && !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)):
			t.Errorf("%s: mark %q (%v), want %q", when, got, err, want)
		}
	}

	build(1, "first")
	markIs(boot, "while BuildKit runs")
	dir := r.d.dir
	r.d.stop(t)
	markIs(nil, "after a clean stop")

	r.d = startPierd(t, dir)
	build(0, "after a clean stop")
	killBuildKit(t, r.d)
	markIs(boot, "after kill -9")
	r.d = startPierd(t, dir)
	build(0, "after kill -9: the cache must survive")

	r.d.stop(t)
	if err := os.WriteFile(mark, []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.d = startPierd(t, dir)
	build(1, "after an unsynced shutdown of another boot: the cache must be gone")
	if !strings.Contains(r.d.stderr.String(), "build cache discarded") {
		t.Errorf("pierd's log does not say the cache was discarded:\n%s", r.d.stderr)
	}
	markIs(boot, "after the discard")
	r.mustDocker(nil, "rmi", "bkmark")
	r.nothingLeft()
}
