package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/trace"
)

// Commit stores an image made of parent's layers (parent nil: none) and,
// when layer is not nil, one more layer read from the uncompressed tar
// layer: what docker commit and each build step make. cfg is the new
// image's whole config but for its RootFS, which Commit fills in from the
// layers; its history must already describe them. The image is visible,
// and refs point at it, only once its blobs and layer are on disk.
func (s *Store) Commit(ctx context.Context, parent *Image, layer io.Reader, cfg *v1.ConfigFile, refs ...string) (*Image, error) {
	return s.CommitContainer(ctx, parent, layer, cfg, nil, refs...)
}

// CommitContainer is Commit writing, as dockerd does, the committed
// container's own config as the config's "container_config" (nil: none);
// image inspect shows it as ContainerConfig before API 1.45.
func (s *Store) CommitContainer(ctx context.Context, parent *Image, layer io.Reader, cfg *v1.ConfigFile, containerConfig any, refs ...string) (*Image, error) {
	return s.commitLayer(ctx, parent, layer, "", cfg, containerConfig, refs...)
}

// CommitUpper is CommitContainer for a layer that is the whole overlay
// upper directory upper, whose files nothing changes again (a build
// step's writable layer, removed right after): the layer's snapshot
// takes them by hard link (snapshot.Link) instead of unpacking the tar,
// which is still read for the blob and the digest. An error wrapping
// snapshot.ErrNotLinkable made no image; the caller commits the usual
// way.
func (s *Store) CommitUpper(ctx context.Context, parent *Image, layer io.Reader, upper string, cfg *v1.ConfigFile, containerConfig any) (*Image, error) {
	if s.cfg.Unprivileged {
		// Its overlay marks are user.overlay.*, which a lower layer
		// made by links would not carry over as pier's mounts read them.
		return nil, fmt.Errorf("commit: %w", snapshot.ErrNotLinkable)
	}
	return s.commitLayer(ctx, parent, layer, upper, cfg, containerConfig)
}

func (s *Store) commitLayer(ctx context.Context, parent *Image, layer io.Reader, upper string, cfg *v1.ConfigFile, containerConfig any, refs ...string) (*Image, error) {
	s.writers.RLock()
	defer s.writers.RUnlock()
	var recs []Layer
	if parent != nil {
		recs = append(recs, parent.Layers...)
	}
	cfg.RootFS = v1.RootFS{Type: "layers"}
	for _, l := range recs {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
	}
	if layer != nil {
		top := ""
		if len(recs) > 0 {
			top = recs[len(recs)-1].ChainID
		}
		l, err := s.addFastLayer(ctx, layer, top, cfg.RootFS.DiffIDs, upper)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		recs = append(recs, l)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
	}
	rawConfig, err := marshalConfig(cfg, containerConfig)
	if err != nil {
		return nil, err
	}
	return s.putBuilt(rawConfig, cfg, recs, []v1.Descriptor{}, refs...)
}

// addFastLayer stores the layer read from the uncompressed tar r as a
// gzip blob at gzip's fastest level (a committed layer is compressed while
// the client waits: a build step, docker commit; level 1 costs a fraction
// of the default's time for a few percent more bytes) and unpacks the
// same stream into a new snapshot at once, on the other core: the blob is
// not read back, decompressed and digested again as a pulled one is.
// With upper, the snapshot links upper's files instead (CommitUpper).
func (s *Store) addFastLayer(ctx context.Context, r io.Reader, parent string, diffIDs []v1.Hash, upper string) (Layer, error) {
	w, err := s.blobs.writer()
	if err != nil {
		return Layer{}, err
	}
	defer w.discard()
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return Layer{}, err
	}
	type unpackResult struct {
		diff  v1.Hash
		chain string
		err   error
	}
	pr, pw := io.Pipe()
	unpacked := make(chan unpackResult, 1)
	go func() {
		var res unpackResult
		if upper != "" {
			res.diff, res.chain, res.err = s.linkUpper(ctx, pr, parent, diffIDs, upper)
			pr.CloseWithError(res.err)
			unpacked <- res
			return
		}
		res.err = s.snaps.UnpackNew(ctx, parent, func(dir string) (string, error) {
			h := sha256.New()
			// Whole chunks of the writer's buffer per read: the two sides
			// hand over a megabyte at a time, not a tar block.
			br := layerBufs.Get().(*bufio.Reader)
			defer layerBufs.Put(br)
			br.Reset(pr)
			defer br.Reset(nil)
			tr := io.TeeReader(br, h)
			err := archive.Extract(ctx, tr, dir, archive.Options{Unprivileged: s.cfg.Unprivileged})
			if err == nil {
				// Tar padding and trailing blocks belong to the digest too.
				_, err = io.Copy(io.Discard, tr)
			}
			if err != nil {
				return "", err
			}
			res.diff = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
			chains := chainIDs(append(slices.Clone(diffIDs), res.diff))
			res.chain = chains[len(chains)-1]
			return res.chain, nil
		})
		pr.CloseWithError(res.err) // a failed unpack stops the writer
		unpacked <- res
	}()
	buf := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(io.MultiWriter(zw, pw), r, *buf)
	copyBufs.Put(buf)
	if err == nil {
		err = zw.Close()
	}
	pw.CloseWithError(err)
	if err != nil {
		<-unpacked
		return Layer{}, fmt.Errorf("read layer: %w", err)
	}
	// The blob is flushed while the snapshot is: the two share the disk's
	// time instead of taking turns.
	l := Layer{MediaType: string(types.DockerLayer), Size: w.n}
	had := s.blobs.has(w.digest())
	l.Digest, err = w.commit(v1.Hash{}, l.Size)
	res := <-unpacked
	if res.err != nil {
		if err == nil && !had {
			_ = os.Remove(s.blobs.path(l.Digest)) // nothing names it
		}
		return Layer{}, fmt.Errorf("layer: %w", res.err)
	}
	if err != nil {
		return Layer{}, err
	}
	trace.Mark("image", "layer blob and snapshot committed")
	l.DiffID, l.ChainID = res.diff, res.chain
	return l, nil
}

// linkUpper digests the layer tar r, then makes its snapshot from upper
// by hard links.
func (s *Store) linkUpper(ctx context.Context, r io.Reader, parent string, diffIDs []v1.Hash, upper string) (v1.Hash, string, error) {
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	_, err := io.CopyBuffer(h, r, *buf)
	copyBufs.Put(buf)
	if err != nil {
		return v1.Hash{}, "", err
	}
	diff := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	chains := chainIDs(append(slices.Clone(diffIDs), diff))
	chain := chains[len(chains)-1]
	if err := s.snaps.Link(ctx, chain, parent, upper); err != nil {
		return v1.Hash{}, "", err
	}
	return diff, chain, nil
}

// layerChunk is how much of a committed layer is handed on at a time.
const layerChunk = 1 << 20

// The buffers of committed layers, kept between commits: a small layer
// would spend more time getting fresh megabytes than being written.
var (
	layerBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, layerChunk) }}
	copyBufs  = sync.Pool{New: func() any {
		b := make([]byte, layerChunk)
		return &b
	}}
)
