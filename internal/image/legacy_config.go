package image

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// marshalConfig is cfg's JSON with containerConfig as "container_config",
// the key dockerd's commit and classic build write and v1.ConfigFile lacks.
func marshalConfig(cfg *v1.ConfigFile, containerConfig any) ([]byte, error) {
	if containerConfig == nil {
		return json.Marshal(cfg)
	}
	return json.Marshal(struct {
		*v1.ConfigFile
		ContainerConfig any `json:"container_config"`
	}{cfg, containerConfig})
}

// LegacyConfig is what an image config says that v1.ConfigFile drops or
// that dockerd shows only to old clients.
type LegacyConfig struct {
	Container       string          `json:"container,omitempty"`
	ContainerConfig json.RawMessage `json:"container_config,omitempty"`
	Image           string          `json:"-"` // config.Image: a commit's parent image id
}

// Legacy reads img's config blob for its "container" and
// "container_config" and the parent image id its config names.
func (s *Store) Legacy(img *Image) (LegacyConfig, error) {
	d, err := v1.NewHash(img.ID)
	if err != nil {
		return LegacyConfig{}, fmt.Errorf("image %s: id: %w", img.ID, err)
	}
	raw, err := s.blobs.read(d)
	if err != nil {
		return LegacyConfig{}, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	var out struct {
		LegacyConfig
		Config struct{ Image string } `json:"config"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return LegacyConfig{}, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	out.LegacyConfig.Image = out.Config.Image
	return out.LegacyConfig, nil
}
