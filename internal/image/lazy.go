package image

import (
	"bufio"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Lazy layers. A layer BuildKit's moby exporter built is stored from its
// files alone (linked from the step's overlay snapshot), without a blob:
// the image's manifest names it as an uncompressed layer whose digest is
// its diff id, the sha256 of archive.LayerTar over those files. The blob
// is made from the layer's files, by the same function, the first time
// something reads it (save, push, a BuildKit FROM over the store socket)
// and kept; its digest and size are checked before it takes its name, so
// a layer whose files no longer give its digest fails that read and
// nothing is stored. GC keeps such a blob like any other the records
// name; a kill -9 while it is made leaves only an ingest file, which the
// next start removes.

// lazyLayer says whether l may be stored without its blob: an
// uncompressed layer named by its diff id.
func lazyLayer(l Layer) bool {
	mt := types.MediaType(l.MediaType)
	return (mt == types.DockerUncompressedLayer || mt == types.OCIUncompressedLayer) && l.Digest == l.DiffID
}

// hasLayer says whether the store has layer l: its files, and its blob
// unless the blob can be made from them.
func (s *Store) hasLayer(l Layer) bool {
	return s.snaps.Has(l.ChainID) && (lazyLayer(l) || s.blobs.has(l.Digest))
}

// ensureBlob makes the blob of the lazy layer l from its files unless
// the store has it; for any other layer it does nothing (its blob is
// there, or reading it fails as it would have).
func (s *Store) ensureBlob(l Layer) error {
	if !lazyLayer(l) || s.blobs.has(l.Digest) {
		return nil
	}
	if !s.snaps.Has(l.ChainID) {
		return fmt.Errorf("layer %s: neither blob nor files: %w", l.Digest, errdefs.ErrNotFound)
	}
	dir, err := s.snaps.LayerDir(l.ChainID)
	if err != nil {
		return err
	}
	w, err := s.blobs.writer()
	if err != nil {
		return err
	}
	defer w.discard()
	bw := bufio.NewWriterSize(w, layerChunk)
	if err := archive.LayerTar(bw, dir); err != nil {
		return fmt.Errorf("layer %s: tar %s: %w", l.Digest, dir, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	if _, err := w.commit(l.Digest, l.Size); err != nil {
		return fmt.Errorf("layer %s made from its files: %w", l.Digest, err)
	}
	return nil
}
