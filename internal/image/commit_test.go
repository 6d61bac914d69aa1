package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/decompress"
	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/testutil"
)

// A committed layer is unpacked from the stream it was read from, not
// from its blob: the blob must still hold exactly that tar, and the
// snapshot exactly its files.
func TestCommitLayer(t *testing.T) {
	s := newStore(t)
	base := fixture(t, s, "", twoLayers(t)[0])
	big := strings.Repeat("0123456789abcdef", 300_000) // several chunks
	layer := testutil.Tar(t, testutil.TarEntry{Name: "app/", Type: tar.TypeDir},
		testutil.TarEntry{Name: "app/big", Body: big}, testutil.TarEntry{Name: "etc/.wh.shadow"})
	cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()},
		History: []v1.History{{CreatedBy: "base"}, {CreatedBy: "COPY"}}}
	img, err := s.Commit(context.Background(), base, bytes.NewReader(layer), cfg, "committed:v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 {
		t.Fatalf("layers %+v", img.Layers)
	}
	top := img.Layers[1]
	if top.DiffID != sha(layer) {
		t.Errorf("diff id %s, want the tar's digest %s", top.DiffID, sha(layer))
	}
	if want := chainIDs([]v1.Hash{base.Layers[0].DiffID, top.DiffID})[1]; top.ChainID != want {
		t.Errorf("chain id %s, want %s", top.ChainID, want)
	}
	f, err := s.blobs.open(top.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if fi.Size() != top.Size {
		t.Errorf("blob size %d, recorded %d", fi.Size(), top.Size)
	}
	zr, err := decompress.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, layer) {
		t.Fatalf("blob holds %d bytes (%v), want the %d-byte tar", len(got), err, len(layer))
	}
	dir, err := s.snaps.LayerDir(top.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "app", "big")); err != nil || string(b) != big {
		t.Errorf("snapshot app/big: %d bytes, %v", len(b), err)
	}
	if p, err := s.snaps.Parent(top.ChainID); err != nil || p != base.Layers[0].ChainID {
		t.Errorf("snapshot parent %q (%v), want %s", p, err, base.Layers[0].ChainID)
	}
	if cfg := configOf(t, s, img); len(cfg.RootFS.DiffIDs) != 2 || cfg.RootFS.DiffIDs[1] != top.DiffID {
		t.Errorf("rootfs %+v", cfg.RootFS)
	}
}

// A layer that cannot be unpacked commits nothing: no image, no blob, no
// snapshot, nothing left in the store's temporary directories.
func TestCommitBadLayer(t *testing.T) {
	s := newStore(t)
	before, _ := s.blobs.blobs()
	bad := append(testutil.Tar(t, testutil.TarEntry{Name: "a", Body: "x"})[:512], bytes.Repeat([]byte{0xff}, 2048)...)
	cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", History: []v1.History{{CreatedBy: "RUN"}}}
	if _, err := s.Commit(context.Background(), nil, bytes.NewReader(bad), cfg, "bad:v1"); err == nil {
		t.Fatal("a corrupt layer was committed")
	}
	if _, err := s.Get("bad:v1"); err == nil {
		t.Error("the image of a failed commit exists")
	}
	after, _ := s.blobs.blobs()
	if len(after) != len(before) {
		t.Errorf("blobs %v, were %v", after, before)
	}
	if layers, _ := s.snaps.Layers(); len(layers) != 0 {
		t.Errorf("snapshots %v", layers)
	}
	for _, d := range []string{filepath.Join(s.cfg.Root, "ingest"), filepath.Join(s.snaps.Root(), "tmp")} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("%s holds %v", d, ents)
		}
	}
}

// CommitUpper takes the layer's files from the upper directory by hard
// link (as root; unprivileged it refuses, and the caller unpacks), while
// the blob and the digest still come from the tar.
func TestCommitUpperLinks(t *testing.T) {
	s := newStore(t)
	upper := t.TempDir()
	if err := os.MkdirAll(filepath.Join(upper, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "app", "big"), bytes.Repeat([]byte("x"), 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	if _, err := (archive.Upper{Dir: upper}).Tar(&layer); err != nil {
		t.Fatal(err)
	}
	cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", History: []v1.History{{CreatedBy: "COPY"}}}
	img, err := s.CommitUpper(context.Background(), nil, bytes.NewReader(layer.Bytes()), upper, cfg, nil)
	if os.Geteuid() != 0 {
		if !errors.Is(err, snapshot.ErrNotLinkable) {
			t.Fatalf("unprivileged CommitUpper = %v, want ErrNotLinkable", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	top := img.Layers[0]
	if top.DiffID != sha(layer.Bytes()) {
		t.Errorf("diff id %s, want the tar's digest %s", top.DiffID, sha(layer.Bytes()))
	}
	dir, err := s.snaps.LayerDir(top.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.Stat(filepath.Join(dir, "app", "big"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.Stat(filepath.Join(upper, "app", "big"))
	if !os.SameFile(got, want) {
		t.Error("the layer's file is a copy, not the upper directory's inode")
	}
	if !s.blobs.has(top.Digest) {
		t.Error("no blob for the layer")
	}
}
