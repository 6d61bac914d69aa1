package image

import (
	"bytes"
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// local serves a stored image to go-containerregistry byte for byte, so a
// pushed image keeps its manifest digest.
type local struct {
	s        *Store
	img      *Image
	manifest []byte
	mt       types.MediaType
	progress func(l Layer) func(int64)
}

func (s *Store) local(img *Image) (*local, error) {
	raw, err := s.blobs.read(img.Manifest)
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", img.ID, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", img.ID, err)
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	return &local{s: s, img: img, manifest: raw, mt: mt}, nil
}

func (l *local) RawManifest() ([]byte, error)        { return l.manifest, nil }
func (l *local) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *local) RawConfigFile() ([]byte, error) {
	h, err := v1.NewHash(l.img.ID)
	if err != nil {
		return nil, err
	}
	return l.s.blobs.read(h)
}

func (l *local) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, ly := range l.img.Layers {
		if ly.Digest == h {
			return &localLayer{l: l, layer: ly}, nil
		}
	}
	return nil, fmt.Errorf("image %s has no layer %s", l.img.ID, h)
}

type localLayer struct {
	l     *local
	layer Layer
}

func (ll *localLayer) Digest() (v1.Hash, error) { return ll.layer.Digest, nil }
func (ll *localLayer) Size() (int64, error)     { return ll.layer.Size, nil }
func (ll *localLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(ll.layer.MediaType), nil
}
func (ll *localLayer) Compressed() (io.ReadCloser, error) {
	if err := ll.l.s.ensureBlob(ll.layer); err != nil {
		return nil, err
	}
	f, err := ll.l.s.blobs.open(ll.layer.Digest)
	if err != nil {
		return nil, err
	}
	if ll.l.progress == nil {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{&counter{r: f, every: 512 << 10, fn: ll.l.progress(ll.layer)}, f}, nil
}

// Push uploads the image ref names to the registry ref names, skipping
// blobs the registry has, and records the repo digest it got.
func (s *Store) Push(ctx context.Context, ref string, progress ProgressFunc) (v1.Hash, error) {
	r, err := s.parseRef(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := s.Get(ref)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	// The gzip blobs pushable writes are named by no record: GC must
	// wait until the push has read them.
	s.writers.RLock()
	defer s.writers.RUnlock()
	l, err := s.local(img)
	if err == nil {
		l, err = s.pushable(l)
	}
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	l.progress = func(ly Layer) func(int64) {
		return func(n int64) {
			progress(Progress{Image: ref, Layer: shortID(ly.Digest), Status: "Pushing", Current: n, Total: ly.Size})
		}
	}
	rimg, err := partial.CompressedToImage(l)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.Write(r, rimg, s.remoteOptions(ctx)...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	digest := l.img.Manifest // the pushed one (pushable)
	if err := s.commit(img, familiarRepo(r)+"@"+digest.String()); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	progress(Progress{Image: ref, Status: "Digest: " + digest.String()})
	return digest, nil
}
