package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/containerd/containerd/v2/core/content"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// contentImage is an image in BuildKit's content store seen as
// go-containerregistry's v1.Image, the form pier's store takes images in.
type contentImage struct {
	ctx      context.Context
	store    content.Provider
	desc     ocispecs.Descriptor
	manifest []byte
	config   []byte
	layers   map[v1.Hash]ocispecs.Descriptor
}

func newContentImage(ctx context.Context, store content.Provider, desc ocispecs.Descriptor) (v1.Image, error) {
	mb, err := content.ReadBlob(ctx, store, desc)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", desc.Digest, err)
	}
	var m ocispecs.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", desc.Digest, err)
	}
	cb, err := content.ReadBlob(ctx, store, m.Config)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", m.Config.Digest, err)
	}
	ci := &contentImage{ctx: ctx, store: store, desc: desc, manifest: mb, config: cb,
		layers: make(map[v1.Hash]ocispecs.Descriptor, len(m.Layers))}
	for _, l := range m.Layers {
		h, err := v1.NewHash(l.Digest.String())
		if err != nil {
			return nil, fmt.Errorf("layer digest %s: %w", l.Digest, err)
		}
		ci.layers[h] = l
	}
	return partial.CompressedToImage(ci)
}

func (ci *contentImage) RawConfigFile() ([]byte, error) { return ci.config, nil }
func (ci *contentImage) RawManifest() ([]byte, error)   { return ci.manifest, nil }
func (ci *contentImage) MediaType() (types.MediaType, error) {
	return types.MediaType(ci.desc.MediaType), nil
}

func (ci *contentImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	d, ok := ci.layers[h]
	if !ok {
		return nil, fmt.Errorf("layer %s not in manifest %s", h, ci.desc.Digest)
	}
	return &contentLayer{ci: ci, desc: d}, nil
}

// contentLayer streams one compressed layer blob from the content store.
type contentLayer struct {
	ci   *contentImage
	desc ocispecs.Descriptor
}

func (l *contentLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.desc.Digest.String()) }
func (l *contentLayer) Size() (int64, error)     { return l.desc.Size, nil }
func (l *contentLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}

func (l *contentLayer) Compressed() (io.ReadCloser, error) {
	ra, err := l.ci.store.ReaderAt(l.ci.ctx, l.desc)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", l.desc.Digest, err)
	}
	return readerAtCloser{io.NewSectionReader(ra, 0, ra.Size()), ra}, nil
}

type readerAtCloser struct {
	io.Reader
	io.Closer
}
