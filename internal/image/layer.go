package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/decompress"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Progress reports on one layer during a pull or push; Docker's progress
// stream and bars are rendered from it.
type Progress struct {
	Image   string // the reference being pulled or pushed
	Layer   string // short layer id (12 hex digits), "" for the image
	Status  string // Docker's words: "Downloading", "Pull complete", ...
	Current int64  // bytes so far
	Total   int64  // bytes in all, 0 if unknown
}

// ProgressFunc receives progress; it may be called from several
// goroutines at once and must not block for long.
type ProgressFunc func(Progress)

func shortID(d v1.Hash) string {
	if len(d.Hex) < 12 {
		return d.Hex
	}
	return d.Hex[:12]
}

// layerMediaTypes are the layer blobs pier unpacks; foreign and unknown
// media types are refused with errdefs.ErrNotImplemented.
var layerMediaTypes = map[types.MediaType]bool{
	types.DockerLayer: true, types.DockerUncompressedLayer: true,
	types.OCILayer: true, types.OCIUncompressedLayer: true, types.OCILayerZStd: true,
}

// chainIDs computes the chain id of each layer from the diff ids:
// chain(0) = diff(0), chain(n) = sha256(chain(n-1) + " " + diff(n)).
func chainIDs(diffIDs []v1.Hash) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d.String()
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d.String()))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// unpackLayer stores the blob read from r (unless present) and unpacks it
// into the snapshot l.ChainID (unless present), in one pass over r. Both
// digests are checked before either is committed.
func (s *Store) unpackLayer(ctx context.Context, r io.Reader, l Layer, parent string) error {
	haveBlob, haveSnap := s.blobs.has(l.Digest), s.snaps.Has(l.ChainID)
	if haveBlob && haveSnap {
		return nil
	}
	var w *blobWriter
	if !haveBlob {
		var err error
		if w, err = s.blobs.writer(); err != nil {
			return err
		}
		defer w.discard()
		r = io.TeeReader(r, w)
	}
	if haveSnap {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		_, err := w.commit(l.Digest, l.Size)
		return err
	}
	return s.snaps.Unpack(ctx, l.ChainID, parent, func(dir string) error {
		dr, err := decompress.Open(r)
		if err != nil {
			return err
		}
		defer dr.Close()
		h := sha256.New()
		tr := io.TeeReader(dr, h)
		opts := archive.Options{Unprivileged: s.cfg.Unprivileged}
		if err := archive.Extract(ctx, tr, dir, opts); err != nil {
			return err
		}
		// Tar padding and trailing blocks belong to the digests too.
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.DiffID.String() {
			return fmt.Errorf("diff id mismatch: got %s, want %s: %w", got, l.DiffID, errdefs.ErrInvalidArgument)
		}
		if w != nil {
			if _, err := w.commit(l.Digest, l.Size); err != nil {
				return err
			}
		}
		return nil
	})
}

// counter reports bytes read through it.
type counter struct {
	r     io.Reader
	n     int64
	every int64
	last  int64
	fn    func(n int64)
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.fn != nil && (c.n-c.last >= c.every || err == io.EOF) {
		c.last = c.n
		c.fn(c.n)
	}
	return n, err
}
