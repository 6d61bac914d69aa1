package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
)

// TestLoadHostileArchive loads archives whose manifest.json or
// index.json is not the archive's own regular file. Each must be refused
// quickly, with nothing of the host read and the ingest directory empty.
func TestLoadHostileArchive(t *testing.T) {
	canary := filepath.Join(t.TempDir(), "host-secret")
	// A valid (empty) manifest list: read through the link, it would
	// make the load succeed with no image.
	if err := os.WriteFile(canary, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]testutil.TarEntry{
		"manifest.json symlink to a host file":  {{Name: "manifest.json", Type: tar.TypeSymlink, Link: canary}},
		"manifest.json relative symlink escape": {{Name: "manifest.json", Type: tar.TypeSymlink, Link: "../../../../../../.." + canary}},
		"manifest.json FIFO":                    {{Name: "manifest.json", Type: tar.TypeFifo, Mode: 0o644}},
		"manifest.json symlink to /dev/zero":    {{Name: "manifest.json", Type: tar.TypeSymlink, Link: "/dev/zero"}},
		"index.json FIFO":                       {{Name: "index.json", Type: tar.TypeFifo, Mode: 0o644}},
		"index.json symlink to /dev/zero":       {{Name: "index.json", Type: tar.TypeSymlink, Link: "/dev/zero"}},
		"blob symlink to a host file": {
			{Name: "oci-layout", Body: `{"imageLayoutVersion":"1.0.0"}`},
			{Name: "index.json", Body: `{"schemaVersion":2,"manifests":[]}`},
			{Name: "blobs/sha256/x", Type: tar.TypeSymlink, Link: canary},
		},
	}
	for name, ents := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			raw := testutil.Tar(t, ents...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				imgs, err := s.Load(ctx, bytes.NewReader(raw))
				if err == nil {
					t.Errorf("loaded %d images", len(imgs))
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Errorf("err = %v, want ErrInvalidArgument", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("load still running after 5 s")
			}
			ents, err := os.ReadDir(filepath.Join(s.cfg.Root, "ingest"))
			if err != nil || len(ents) != 0 {
				t.Errorf("ingest left behind: %v %v", ents, err)
			}
		})
	}
}

// TestLoadSymlinkInside keeps what docker save does: a layer that is a
// relative symlink to another inside the archive loads.
func TestLoadSymlinkInside(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := root.Mkdir("a", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := root.WriteFile("a/layer.tar", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := root.Mkdir("b", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := root.Symlink("../a/layer.tar", "b/layer.tar"); err != nil {
		t.Fatal(err)
	}
	if err := checkTree(root); err != nil {
		t.Fatal(err)
	}
	if err := root.Symlink("/etc/passwd", "b/abs"); err != nil {
		t.Fatal(err)
	}
	if err := checkTree(root); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("absolute symlink out: %v", err)
	}
}
