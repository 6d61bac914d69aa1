package image

import (
	"context"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
		l, err := s.addFastLayer(ctx, layer, top, cfg.RootFS.DiffIDs)
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

// addFastLayer is addLayer with gzip's fastest level: a committed layer
// is compressed while the client waits (a build step, docker commit), and
// level 1 costs a fraction of the default's time for a few percent more
// bytes.
func (s *Store) addFastLayer(ctx context.Context, r io.Reader, parent string, diffIDs []v1.Hash) (Layer, error) {
	return s.addLayerLevel(ctx, r, parent, diffIDs, gzip.BestSpeed)
}
