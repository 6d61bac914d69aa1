package image

import (
	"bytes"
	"context"
	"slices"
	"testing"
)

// Load reports the archive's own tags: an image that also has other tags
// in the store comes back with only those the archive named, and one
// saved by id with none (dockerd's "Loaded image ID").
func TestLoadReportsTheArchivesTags(t *testing.T) {
	s := newStore(t)
	img := fixture(t, s, "saved:v1", twoLayers(t)...)
	for _, extra := range []string{"other:x", "third:y"} {
		if err := s.Tag(img.ID, extra); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		save []string
		want []string
	}{
		{[]string{"saved:v1"}, []string{"saved:v1"}},
		{[]string{img.ID}, nil},
	} {
		var buf bytes.Buffer
		if err := s.Save(&buf, tc.save); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(context.Background(), bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !slices.Equal(got[0].RepoTags, tc.want) {
			t.Errorf("save %v, load: %d images, tags %v; want tags %v", tc.save, len(got), got[0].RepoTags, tc.want)
		}
	}
}
