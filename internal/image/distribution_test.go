package image

import (
	"context"
	"errors"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestDistributionListsPlatformsWithoutPulling(t *testing.T) {
	ref := serve(t, nil) + "/pier/dist:v1"
	idx, _ := pushIndex(t, ref, "amd64", "arm64")
	want, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	before := state(t, s)
	got, err := s.Distribution(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Descriptor.Digest) != want.String() || got.Descriptor.Size == 0 || len(got.Platforms) != 2 ||
		got.Platforms[1].Architecture != "arm64" {
		t.Errorf("distribution = %+v, want digest %s and two platforms", got, want)
	}
	if after := state(t, s); after != before {
		t.Errorf("distribution changed the store:\n%s\n%s", before, after)
	}
	if _, err := s.Distribution(context.Background(), "Bad:Ref:x"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad reference: %v", err)
	}
}
