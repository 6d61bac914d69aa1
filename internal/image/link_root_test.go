package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
)

// filesImage offers the layers of an image in another store on the same
// filesystem as LayerFiles, as BuildKit's exporter offers its content
// store's blobs and its snapshots.
type filesImage struct {
	v1.Image
	files map[v1.Hash][2]string
}

func (f filesImage) LayerFiles(d v1.Hash) (string, string, bool) {
	p, ok := f.files[d]
	return p[0], p[1], ok
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// linkFixture is a two-layer image in a source store and, for each
// layer, its blob file and unpacked directory there.
func linkFixture(t *testing.T) (v1.Image, []Layer, map[v1.Hash][2]string) {
	t.Helper()
	src := newStore(t)
	img := fixture(t, src, "src:1", twoLayers(t)...)
	rimg, err := src.LocalImage("src:1")
	if err != nil {
		t.Fatal(err)
	}
	files := map[v1.Hash][2]string{}
	for _, l := range img.Layers {
		dir, _ := src.snaps.LayerDir(l.ChainID)
		files[l.Digest] = [2]string{src.blobs.path(l.Digest), dir}
	}
	return rimg, img.Layers, files
}

// TestPutImageLinks: a put of an image whose layers lie on the store's
// filesystem hard-links blobs and files (same inodes), after which the
// store lacks no layer; the blobs still hash to their digests.
func TestPutImageLinks(t *testing.T) {
	testutil.RequiresRoot(t)
	rimg, layers, files := linkFixture(t)
	s := newStore(t)
	if miss, err := s.MissingLayers(rimg); err != nil || len(miss) != 2 {
		t.Fatalf("missing before: %v, %v; want both layers", miss, err)
	}
	if _, err := s.PutImage(context.Background(), filesImage{rimg, files}, []string{"dst:1"}); err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if ino(t, s.blobs.path(l.Digest)) != ino(t, files[l.Digest][0]) {
			t.Errorf("blob %s copied, not linked", l.Digest)
		}
		b, err := os.ReadFile(s.blobs.path(l.Digest))
		if sum := sha256.Sum256(b); err != nil || hex.EncodeToString(sum[:]) != l.Digest.Hex {
			t.Errorf("blob %s does not hash to its digest (%v)", l.Digest, err)
		}
	}
	top, _ := s.snaps.LayerDir(layers[1].ChainID)
	if ino(t, filepath.Join(top, "bin/sh")) != ino(t, filepath.Join(files[layers[1].Digest][1], "bin/sh")) {
		t.Error("layer files copied, not linked")
	}
	if miss, err := s.MissingLayers(rimg); err != nil || len(miss) != 0 {
		t.Errorf("missing after: %v, %v; want none", miss, err)
	}
}

// TestPutImageLinkFallback: a layer whose directory is gone is unpacked
// from its (linked) blob instead; a blob file that does not hash to its
// digest fails the put and is not stored.
func TestPutImageLinkFallback(t *testing.T) {
	testutil.RequiresRoot(t)
	rimg, layers, files := linkFixture(t)
	top := layers[1]
	gone := files[top.Digest]
	gone[1] = filepath.Join(t.TempDir(), "pruned")
	files[top.Digest] = gone
	s := newStore(t)
	if _, err := s.PutImage(context.Background(), filesImage{rimg, files}, nil); err != nil {
		t.Fatal(err)
	}
	dir, _ := s.snaps.LayerDir(top.ChainID)
	if b, err := os.ReadFile(filepath.Join(dir, "bin/sh")); err != nil || string(b) != "new sh" {
		t.Errorf("unpacked fallback: %q, %v", b, err)
	}

	rimg, layers, files = linkFixture(t)
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, make([]byte, layers[0].Size), 0o644); err != nil {
		t.Fatal(err)
	}
	files[layers[0].Digest] = [2]string{bad, files[layers[0].Digest][1]}
	s = newStore(t)
	if _, err := s.PutImage(context.Background(), filesImage{rimg, files}, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("blob of wrong content: %v, want ErrInvalidArgument", err)
	}
	if s.blobs.has(layers[0].Digest) {
		t.Error("blob of wrong content stored")
	}
}
