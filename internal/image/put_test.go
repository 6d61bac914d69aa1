package image

import (
	"context"
	"testing"
)

// TestPutImage: an image read from one store (LocalImage) goes into
// another untagged or under several names, with the same id and manifest.
func TestPutImage(t *testing.T) {
	src, dst := newStore(t), newStore(t)
	fixture(t, src, "src:1", twoLayers(t)...)
	img, err := src.LocalImage("src:1")
	if err != nil {
		t.Fatal(err)
	}
	id, err := dst.PutImage(context.Background(), img, nil)
	if err != nil {
		t.Fatalf("untagged: %v", err)
	}
	if cfg, _ := img.ConfigName(); cfg.String() != id {
		t.Errorf("id %s, want the config digest %s", id, cfg)
	}
	if _, err := dst.PutImage(context.Background(), img, []string{"a:1", "b:2"}); err != nil {
		t.Fatalf("two names: %v", err)
	}
	want, _ := img.Digest()
	for _, ref := range []string{id, "a:1", "b:2"} {
		got, err := dst.LocalImage(ref)
		if err != nil {
			t.Fatalf("LocalImage(%s): %v", ref, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Errorf("LocalImage(%s) manifest %s, want %s", ref, d, want)
		}
	}
}
