package image

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestPullPlatform: WithPlatform picks from a manifest list per pull; the
// store's default stays linux/amd64.
func TestPullPlatform(t *testing.T) {
	ref := serve(t, nil) + "/pier/multi:v1"
	_, digests := pushIndex(t, ref, "amd64", "arm64")
	for _, arch := range []string{"arm64", ""} {
		s := newStore(t)
		ctx := context.Background()
		if arch != "" {
			ctx = WithPlatform(ctx, "linux/"+arch)
		}
		img, err := s.Pull(ctx, ref, nil)
		if err != nil {
			t.Fatalf("pull %q: %v", arch, err)
		}
		want := digests["amd64"]
		if arch != "" {
			want = digests[arch]
		}
		if img.Manifest != want {
			t.Errorf("platform %q: pulled manifest %s, want %s", arch, img.Manifest, want)
		}
	}
	_, err := newStore(t).Pull(WithPlatform(context.Background(), "linux/s390x"), ref, nil)
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("pull of a platform the list lacks: %v", err)
	}
}

// pushIndex pushes to ref a manifest list of random linux images, one per
// architecture, and returns it with each architecture's manifest digest.
func pushIndex(t *testing.T, ref string, archs ...string) (v1.ImageIndex, map[string]v1.Hash) {
	t.Helper()
	digests := map[string]v1.Hash{}
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range archs {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if digests[arch], err = img.Digest(); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return idx, digests
}
