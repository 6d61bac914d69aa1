package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/testutil"
)

// lazyCore is an image whose layers are uncompressed tars named by their
// diff ids, read as archive.LayerTar of directories: what BuildKit's moby
// exporter hands over for lazy layers.
type lazyCore struct {
	manifest, config []byte
	dirs             map[v1.Hash]string
	descs            map[v1.Hash]v1.Descriptor
}

func (c *lazyCore) RawManifest() ([]byte, error)        { return c.manifest, nil }
func (c *lazyCore) RawConfigFile() ([]byte, error)      { return c.config, nil }
func (c *lazyCore) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }
func (c *lazyCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	return &lazyTarLayer{desc: c.descs[h], dir: c.dirs[h]}, nil
}

type lazyTarLayer struct {
	desc v1.Descriptor
	dir  string
}

func (l *lazyTarLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *lazyTarLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *lazyTarLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *lazyTarLayer) Compressed() (io.ReadCloser, error) {
	var buf bytes.Buffer
	if err := archive.LayerTar(&buf, l.dir); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

// lazyFixture is the two-layer fixture's layers, unpacked in a source
// store, described as lazy layers, with LayerFiles naming only their
// directories (no blob).
func lazyFixture(t *testing.T) (v1.Image, []v1.Hash, map[v1.Hash][2]string) {
	t.Helper()
	src := newStore(t)
	img := fixture(t, src, "src:1", twoLayers(t)...)
	cfg, err := src.Config(img)
	if err != nil {
		t.Fatal(err)
	}
	c := &lazyCore{dirs: map[v1.Hash]string{}, descs: map[v1.Hash]v1.Descriptor{}}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2}
	files := map[v1.Hash][2]string{}
	var diffs []v1.Hash
	for _, l := range img.Layers {
		dir, _ := src.snaps.LayerDir(l.ChainID)
		var buf bytes.Buffer
		if err := archive.LayerTar(&buf, dir); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf.Bytes())
		d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
		desc := v1.Descriptor{MediaType: types.DockerUncompressedLayer, Digest: d, Size: int64(buf.Len())}
		m.Layers = append(m.Layers, desc)
		c.dirs[d], c.descs[d], files[d] = dir, desc, [2]string{"", dir}
		diffs = append(diffs, d)
	}
	cfg.RootFS.DiffIDs = diffs
	if c.config, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	cs := sha256.Sum256(c.config)
	m.Config = v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(c.config)),
		Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(cs[:])}}
	if c.manifest, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	rimg, err := partial.CompressedToImage(c)
	if err != nil {
		t.Fatal(err)
	}
	return rimg, diffs, files
}

// TestPutImageLazy: a put of lazy layers links their files and stores no
// blob, and lacks no layer after; a push sends them gzipped, and the
// image pulled back has the same id; save makes each blob from the files,
// hashing to its name and to the layer's diff id, and keeps it through
// GC.
func TestPutImageLazy(t *testing.T) {
	testutil.RequiresRoot(t)
	rimg, diffs, files := lazyFixture(t)
	s := newStore(t)
	id, err := s.PutImage(context.Background(), filesImage{rimg, files}, []string{"dst:1"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("dst:1")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range img.Layers {
		if s.blobs.has(l.Digest) {
			t.Errorf("layer %d: blob stored at put", i)
		}
		if l.DiffID != diffs[i] {
			t.Errorf("layer %d: diff id %s, want %s", i, l.DiffID, diffs[i])
		}
	}
	top, _ := s.snaps.LayerDir(img.Layers[1].ChainID)
	if ino(t, filepath.Join(top, "bin/sh")) != ino(t, filepath.Join(files[diffs[1]][1], "bin/sh")) {
		t.Error("lazy layer's files copied, not linked")
	}
	if miss, err := s.MissingLayers(rimg); err != nil || len(miss) != 0 {
		t.Errorf("missing after the put: %v, %v; want none", miss, err)
	}

	// Push first: the blobs are made for the registry.
	reg := serve(t, nil)
	if err := s.Tag(id, reg+"/lazy:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(context.Background(), reg+"/lazy:1", nil); err != nil {
		t.Fatalf("push: %v", err)
	}
	other := newStore(t)
	pulled, err := other.Pull(context.Background(), reg+"/lazy:1", nil)
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	if pulled.ID != id {
		t.Errorf("pulled id %s, want %s", pulled.ID, id)
	}
	for i, l := range pulled.Layers {
		if l.MediaType != string(types.DockerLayer) || l.Digest == l.DiffID {
			t.Errorf("pushed layer %d: %s %s, want it gzipped", i, l.MediaType, l.Digest)
		}
		if s.blobs.has(diffs[i]) {
			t.Errorf("layer %d: the push stored its uncompressed blob", i)
		}
	}

	var buf bytes.Buffer
	if err := s.Save(&buf, []string{"dst:1"}); err != nil {
		t.Fatalf("save: %v", err)
	}
	saved := savedBlobs(t, buf.Bytes())
	for i, d := range diffs {
		if !saved[d.Hex] {
			t.Errorf("layer %d: %s not in the saved archive", i, d)
		}
	}
	if err := s.GC(); err != nil {
		t.Fatal(err)
	}
	for i, l := range img.Layers {
		if !s.blobs.has(l.Digest) {
			t.Errorf("layer %d: blob made for save and push gone after GC", i)
		}
	}
}

// savedBlobs checks that every blob in a saved archive hashes to its
// name and lists them.
func savedBlobs(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(h.Name, "blobs/sha256/")
		if !ok {
			continue
		}
		hs := sha256.New()
		if _, err := io.Copy(hs, tr); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(hs.Sum(nil)); got != name {
			t.Errorf("saved blob %s hashes to %s", name, got)
		}
		out[name] = true
	}
}

// TestLazyLayerChanged: a lazy layer whose files no longer give its
// digest fails save, and no blob of it is stored.
func TestLazyLayerChanged(t *testing.T) {
	testutil.RequiresRoot(t)
	rimg, diffs, files := lazyFixture(t)
	s := newStore(t)
	if _, err := s.PutImage(context.Background(), filesImage{rimg, files}, []string{"dst:1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(files[diffs[1]][1], "bin/sh"), []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(io.Discard, []string{"dst:1"}); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Errorf("save of a changed lazy layer: %v, want a digest mismatch", err)
	}
	if s.blobs.has(diffs[1]) {
		t.Error("blob of the changed layer stored")
	}
	if ents, _ := os.ReadDir(filepath.Join(s.cfg.Root, "ingest")); len(ents) != 0 {
		t.Errorf("ingest left: %v", ents)
	}
}

// TestPutImageLazyFallback: a lazy layer whose directory cannot be
// linked is unpacked from the tar the image serves, and its blob stored.
func TestPutImageLazyFallback(t *testing.T) {
	testutil.RequiresRoot(t)
	rimg, diffs, files := lazyFixture(t)
	files[diffs[1]] = [2]string{"", filepath.Join(t.TempDir(), "pruned")}
	s := newStore(t)
	if _, err := s.PutImage(context.Background(), filesImage{rimg, files}, []string{"dst:1"}); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("dst:1")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := s.snaps.LayerDir(img.Layers[1].ChainID)
	if b, err := os.ReadFile(filepath.Join(dir, "bin/sh")); err != nil || string(b) != "new sh" {
		t.Errorf("unpacked fallback: %q, %v", b, err)
	}
	if !s.blobs.has(diffs[1]) {
		t.Error("the unpacked lazy layer's blob is not stored")
	}
}
