package e2e_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// tarFile returns the content of name in the tar b, and whether it is there.
func tarFile(t *testing.T, b []byte, name string) (string, bool) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			c, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(c), true
		}
	}
}

// TestExport: docker export and pier export -o of a stopped container
// hold the file it wrote and busybox's own.
func TestExport(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	docker := dockers[0]
	mustRun(t, docker, "--host", d.host, "run", "--name", "wr", "busybox", "sh", "-c", "echo hello > /hello")
	out := mustRun(t, docker, "--host", d.host, "export", "wr")
	if c, ok := tarFile(t, []byte(out), "hello"); c != "hello\n" {
		t.Errorf("docker export: hello = %q (present %v)", c, ok)
	}
	if _, ok := tarFile(t, []byte(out), "bin/busybox"); !ok {
		t.Error("docker export lacks bin/busybox")
	}
	f := filepath.Join(t.TempDir(), "w.tar")
	mustRun(t, pier, "-H", d.host, "export", "-o", f, "wr")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := tarFile(t, b, "hello"); c != "hello\n" {
		t.Errorf("pier export -o: hello = %q", c)
	}
	if code, _, errs := run(t, docker, "--host", d.host, "export", "nope"); code == 0 || !strings.Contains(errs, "No such container") {
		t.Errorf("export of unknown = %d %q", code, errs)
	}
	mustRun(t, docker, "--host", d.host, "rm", "wr")
	noContainersLeft(t, d)
}
