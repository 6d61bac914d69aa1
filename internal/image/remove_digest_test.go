package image

import (
	"slices"
	"testing"
)

// rmi of a repository's last tag also drops that repository's digest
// references (dockerd's rule); another repository's stay.
func TestRemoveLastTagDropsTheRepositorysDigests(t *testing.T) {
	s := newStore(t)
	img := fixture(t, s, "localhost:5000/app:v1", twoLayers(t)...)
	for _, ref := range []string{"localhost:5000/app:v2", "other:x"} {
		if err := s.Tag(img.ID, ref); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	appDigest := "localhost:5000/app@" + img.Manifest.String()
	otherDigest := "other@" + img.Manifest.String()
	idx.Refs[appDigest], idx.Refs[otherDigest] = img.ID, img.ID
	if err := s.writeIndex(idx); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Remove("localhost:5000/app:v2", false, nil); err != nil || len(d) != 1 {
		t.Fatalf("rmi of one of two tags: %v %v", d, err)
	}
	d, err := s.Remove("localhost:5000/app:v1", false, nil)
	if err != nil || len(d) != 2 || d[1].Untagged != appDigest {
		t.Fatalf("rmi of the repository's last tag = %+v, %v; want its digest untagged too", d, err)
	}
	got, err := s.Get("other:x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RepoDigests, []string{otherDigest}) || !slices.Equal(got.RepoTags, []string{"other:x"}) {
		t.Errorf("left: tags %v digests %v", got.RepoTags, got.RepoDigests)
	}
}
