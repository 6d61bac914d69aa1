package buildkitd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pier-engine/pier/internal/errdefs"
)

// digestPattern is a sha256 digest: nothing else names a file under a
// content store's blobs/sha256.
var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// dirImage is an image in a containerd local content store directory
// (BuildKit's), read from its blob files.
type dirImage struct {
	dir       string
	mediaType types.MediaType
	manifest  []byte
	config    []byte
	layers    map[v1.Hash]v1.Descriptor
}

// openDirImage reads the manifest named by digest, and its config, from
// the content store at dir, checking both against their digests.
func openDirImage(dir, digest, mediaType string) (v1.Image, error) {
	mb, err := readBlob(dir, digest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(mb))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", digest, err)
	}
	cb, err := readBlob(dir, m.Config.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	di := &dirImage{dir: dir, mediaType: types.MediaType(mediaType), manifest: mb, config: cb,
		layers: make(map[v1.Hash]v1.Descriptor, len(m.Layers))}
	for _, l := range m.Layers {
		if !digestPattern.MatchString(l.Digest.String()) {
			return nil, fmt.Errorf("manifest %s: layer digest %q: %w", digest, l.Digest, errdefs.ErrInvalidArgument)
		}
		di.layers[l.Digest] = l
	}
	return partial.CompressedToImage(di)
}

// blobPath is where a containerd local store keeps the blob digest.
func blobPath(dir, digest string) (string, error) {
	if !digestPattern.MatchString(digest) {
		return "", fmt.Errorf("digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	return filepath.Join(dir, "blobs", "sha256", digest[len("sha256:"):]), nil
}

// readBlob reads a small blob whole and checks its digest.
func readBlob(dir, digest string) ([]byte, error) {
	p, err := blobPath(dir, digest)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", digest, err)
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return nil, fmt.Errorf("blob %s has digest %s: %w", digest, got, errdefs.ErrInvalidArgument)
	}
	return b, nil
}

func (di *dirImage) RawConfigFile() ([]byte, error)      { return di.config, nil }
func (di *dirImage) RawManifest() ([]byte, error)        { return di.manifest, nil }
func (di *dirImage) MediaType() (types.MediaType, error) { return di.mediaType, nil }

func (di *dirImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	d, ok := di.layers[h]
	if !ok {
		return nil, fmt.Errorf("layer %s not in the manifest: %w", h, errdefs.ErrNotFound)
	}
	return &dirLayer{dir: di.dir, desc: d}, nil
}

// dirLayer is one compressed layer blob file.
type dirLayer struct {
	dir  string
	desc v1.Descriptor
}

func (l *dirLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *dirLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *dirLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

func (l *dirLayer) Compressed() (io.ReadCloser, error) {
	p, err := blobPath(l.dir, l.desc.Digest.String())
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", l.desc.Digest, err)
	}
	return f, nil
}
