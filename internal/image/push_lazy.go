package image

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/errdefs"
)

// pushable is l as a push sends it. Its lazy layers (lazy.go) go
// gzipped, as dockerd's push compresses its layers, under a manifest
// made for the push: the stored one names the uncompressed tars, which
// save keeps. The config, and so the image id, is the same. Each gzip
// blob is written to the store (the pusher reads blobs from there) and
// left to GC, which removes it as no record names it.
func (s *Store) pushable(l *local) (*local, error) {
	if !slices.ContainsFunc(l.img.Layers, lazyLayer) {
		return l, nil
	}
	var m v1.Manifest
	if err := json.Unmarshal(l.manifest, &m); err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", l.img.ID, err)
	}
	if len(m.Layers) != len(l.img.Layers) {
		return nil, fmt.Errorf("image %s: manifest has %d layers, the record %d", l.img.ID, len(m.Layers), len(l.img.Layers))
	}
	img := *l.img
	img.Layers = slices.Clone(l.img.Layers)
	for i, ly := range img.Layers {
		if !lazyLayer(ly) {
			continue
		}
		gz, err := s.gzipLayer(ly)
		if err != nil {
			return nil, err
		}
		img.Layers[i] = gz
		m.Layers[i].MediaType, m.Layers[i].Digest, m.Layers[i].Size = types.MediaType(gz.MediaType), gz.Digest, gz.Size
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	img.Manifest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	return &local{s: s, img: &img, manifest: raw, mt: l.mt}, nil
}

// gzipLayer writes the lazy layer l gzipped (gzip's fastest level, as
// pier's commits) into the store, from its blob or else its files,
// checking the tar against the diff id.
func (s *Store) gzipLayer(l Layer) (Layer, error) {
	mt := types.DockerLayer
	if types.MediaType(l.MediaType) == types.OCIUncompressedLayer {
		mt = types.OCILayer
	}
	w, err := s.blobs.writer()
	if err != nil {
		return Layer{}, err
	}
	defer w.discard()
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return Layer{}, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(zw, h), layerChunk)
	if err := s.layerTar(bw, l); err != nil {
		return Layer{}, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	if err := bw.Flush(); err != nil {
		return Layer{}, err
	}
	if err := zw.Close(); err != nil {
		return Layer{}, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.DiffID.String() {
		return Layer{}, fmt.Errorf("layer %s: its files give %s: %w", l.DiffID, got, errdefs.ErrInvalidArgument)
	}
	size := w.n
	d, err := w.commit(v1.Hash{}, size)
	if err != nil {
		return Layer{}, err
	}
	return Layer{Digest: d, DiffID: l.DiffID, ChainID: l.ChainID, MediaType: string(mt), Size: size}, nil
}

// layerTar writes the uncompressed tar of the lazy layer l: its blob if
// the store made one, else archive.LayerTar of its files.
func (s *Store) layerTar(w io.Writer, l Layer) error {
	if f, err := s.blobs.open(l.Digest); err == nil {
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}
	dir, err := s.snaps.LayerDir(l.ChainID)
	if err != nil {
		return err
	}
	if !s.snaps.Has(l.ChainID) {
		return fmt.Errorf("neither blob nor files: %w", errdefs.ErrNotFound)
	}
	return archive.LayerTar(w, dir)
}

