package image

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// PutImage adds img, whose manifest, config and layer blobs come from
// another store in this process (BuildKit's content store), under refs.
// Its layers are unpacked as a pull's are; no tar archive is made.
func (s *Store) PutImage(ctx context.Context, img v1.Image, refs []string) (string, error) {
	first, rest := "", []string(nil)
	if len(refs) > 0 {
		first, rest = refs[0], refs[1:]
	}
	out, err := s.loadImage(ctx, img, first)
	if err != nil {
		return "", err
	}
	for _, r := range rest {
		if err := s.Tag(out.ID, r); err != nil {
			return "", err
		}
	}
	return out.ID, nil
}

// LocalImage is the image ref (a name, name:tag or name@digest, or an
// id) names in the store, as go-containerregistry's v1.Image over the
// store's blobs, for a reader in this process (BuildKit's FROM).
func (s *Store) LocalImage(ref string) (v1.Image, error) {
	img, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	l, err := s.local(img)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(l)
}
