package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Distribution asks ref's registry for its manifest's descriptor and the
// platforms it offers, without pulling (GET /distribution/{name}/json):
// an index lists its manifests' platforms, an image its config's.
func (s *Store) Distribution(ctx context.Context, ref string) (registry.DistributionInspect, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return registry.DistributionInspect{}, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid reference format: %s", ref)
	}
	desc, err := remote.Get(r, s.remoteOptions(ctx)...)
	if err != nil {
		return registry.DistributionInspect{}, fmt.Errorf("distribution %s: %w", ref, err)
	}
	out := registry.DistributionInspect{
		Descriptor: ocispec.Descriptor{MediaType: string(desc.MediaType), Digest: digest.Digest(desc.Digest.String()), Size: desc.Size},
		Platforms:  []ocispec.Platform{},
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return registry.DistributionInspect{}, fmt.Errorf("distribution %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return registry.DistributionInspect{}, fmt.Errorf("distribution %s: %w", ref, err)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil {
				out.Platforms = append(out.Platforms, ociPlatform(*m.Platform))
			}
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return registry.DistributionInspect{}, fmt.Errorf("distribution %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return registry.DistributionInspect{}, fmt.Errorf("distribution %s: %w", ref, err)
	}
	out.Platforms = append(out.Platforms, ociPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}))
	return out, nil
}

func ociPlatform(p v1.Platform) ocispec.Platform {
	return ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion, OSFeatures: p.OSFeatures}
}
