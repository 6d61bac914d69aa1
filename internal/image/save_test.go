package image

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestSaveLoad(t *testing.T) {
	s := newStore(t)
	img := fixture(t, s, "saved:v1", twoLayers(t)...)
	var buf bytes.Buffer
	if err := s.Save(&buf, []string{"saved:v1"}); err != nil {
		t.Fatal(err)
	}
	s2 := newStore(t)
	got, err := s2.Load(context.Background(), bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != img.ID || got[0].Manifest != img.Manifest {
		t.Fatalf("loaded %+v, want id %s manifest %s", got, img.ID, img.Manifest)
	}
	if len(got[0].RepoTags) != 1 || got[0].RepoTags[0] != "saved:v1" {
		t.Errorf("tags %v", got[0].RepoTags)
	}
}

// TestLoadClassicDockerArchive loads a manifest.json-only archive (what
// docker save wrote before 25.0): the image id survives.
func TestLoadClassicDockerArchive(t *testing.T) {
	s := newStore(t)
	img := fixture(t, s, "classic:v1", twoLayers(t)...)
	l, err := s.local(img)
	if err != nil {
		t.Fatal(err)
	}
	rimg, err := partial.CompressedToImage(l)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("classic:v1")
	var buf bytes.Buffer
	if err := tarball.Write(tag, rimg, &buf); err != nil {
		t.Fatal(err)
	}
	got, err := newStore(t).Load(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != img.ID || len(got[0].RepoTags) != 1 || got[0].RepoTags[0] != "classic:v1" {
		t.Fatalf("loaded %+v, want id %s tagged classic:v1", got, img.ID)
	}
}
