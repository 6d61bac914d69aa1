package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/pier-engine/pier/internal/archive"
)

// addLayer gzips the uncompressed tar r into a blob, computing both
// digests on the way, and unpacks the blob as layer number n of chains.
func (s *Store) addLayer(ctx context.Context, r io.Reader, parent string, diffIDs []v1.Hash) (Layer, error) {
	return s.addLayerLevel(ctx, r, parent, diffIDs, gzip.DefaultCompression)
}

// addLayerLevel is addLayer with gzip at level.
func (s *Store) addLayerLevel(ctx context.Context, r io.Reader, parent string, diffIDs []v1.Hash, level int) (Layer, error) {
	w, err := s.blobs.writer()
	if err != nil {
		return Layer{}, err
	}
	defer w.discard()
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return Layer{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(zw, h), r); err != nil {
		return Layer{}, fmt.Errorf("read layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Layer{}, err
	}
	diff := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	size := w.n
	d, err := w.commit(v1.Hash{}, size)
	if err != nil {
		return Layer{}, err
	}
	chains := chainIDs(append(diffIDs, diff))
	l := Layer{Digest: d, DiffID: diff, ChainID: chains[len(chains)-1], MediaType: string(types.DockerLayer), Size: size}
	f, err := s.blobs.open(d)
	if err != nil {
		return Layer{}, err
	}
	defer f.Close()
	if err := s.unpackLayer(ctx, f, l, parent); err != nil {
		return Layer{}, fmt.Errorf("layer %s: %w", d, err)
	}
	return l, nil
}

// build makes an image of uncompressed layer tars and cfg (whose rootfs
// and history it fills in), stores it and tags it with refs.
func (s *Store) build(ctx context.Context, layers []io.Reader, cfg *v1.ConfigFile, comment string, refs ...string) (*Image, error) {
	s.writers.RLock()
	defer s.writers.RUnlock()
	var recs []Layer
	cfg.RootFS = v1.RootFS{Type: "layers"}
	for _, r := range layers {
		parent := ""
		if len(recs) > 0 {
			parent = recs[len(recs)-1].ChainID
		}
		l, err := s.addLayer(ctx, r, parent, cfg.RootFS.DiffIDs)
		if err != nil {
			return nil, err
		}
		recs = append(recs, l)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
		cfg.History = append(cfg.History, v1.History{Created: cfg.Created, Comment: comment})
	}
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return s.putBuilt(rawConfig, cfg, recs, nil, refs...)
}

// putBuilt writes the manifest of rawConfig and recs (Layers starts as
// layers: a committed image's empty list stays [] in its JSON), stores it
// and tags it with refs.
func (s *Store) putBuilt(rawConfig []byte, cfg *v1.ConfigFile, recs []Layer, layers []v1.Descriptor, refs ...string) (*Image, error) {
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawConfig)), Digest: sha(rawConfig)},
		Layers:        layers,
	}
	for _, l := range recs {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(l.MediaType), Size: l.Size, Digest: l.Digest})
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	img, err := s.putMetadata(rawManifest, rawConfig, m, cfg, recs)
	if err != nil {
		return nil, err
	}
	if err := s.commit(img, refs...); err != nil {
		return nil, err
	}
	return s.Get(img.ID)
}

func sha(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// Export writes the tree at rootfs (a container's mounted root) as a tar,
// like docker export.
func Export(w io.Writer, rootfs string) error {
	if _, err := os.Stat(rootfs); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return archive.Tar(w, rootfs)
}
