package image

import (
	"bytes"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Config returns an image's config (entrypoint, env, user, ...), the blob
// its id names: what the daemon builds a container's spec from.
func (s *Store) Config(img *Image) (*v1.ConfigFile, error) {
	d, err := v1.NewHash(img.ID)
	if err != nil {
		return nil, fmt.Errorf("image %s: id: %w", img.ID, err)
	}
	raw, err := s.blobs.read(d)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	return cfg, nil
}
