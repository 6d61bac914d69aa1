package daemon

import (
	"bytes"
	"context"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Prune spares a build step's image while a later step's image names it
// as parent, and takes a dangling chain of step images whole.
func TestImagePruneSparesParents(t *testing.T) {
	d := newImageDaemon(t, "")
	ctx := context.Background()
	base, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "a")), "base:latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	step := func(parent, name string, tags ...string) string {
		t.Helper()
		p, err := d.images.Get(parent)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{Image: parent, Env: []string{"N=" + name}},
			History: []v1.History{{CreatedBy: "step on " + parent, EmptyLayer: true}}}
		img, err := d.images.Commit(ctx, p, nil, cfg, tags...)
		if err != nil {
			t.Fatal(err)
		}
		return img.ID
	}
	kept := step(base, "kept")
	app := step(kept, "app", "app:latest")
	d1 := step(base, "d1")
	d2 := step(d1, "d2")
	rep, err := d.ImagePrune(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	for _, x := range rep.ImagesDeleted {
		gone = append(gone, x.Deleted)
	}
	slices.Sort(gone)
	want := []string{d1, d2}
	slices.Sort(want)
	if !slices.Equal(gone, want) {
		t.Fatalf("prune deleted %v, want the dangling chain %v (not %s, parent of app)", gone, want, kept)
	}
	// rmi of app takes its untagged step parent with it, as dockerd's
	// does, and stops at the tagged base.
	del, err := d.ImageRemove(ctx, "app:latest", false)
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, x := range del {
		if x.Deleted != "" {
			deleted = append(deleted, x.Deleted)
		}
	}
	if !slices.Equal(deleted, []string{app, kept}) {
		t.Errorf("rmi app deleted %v, want app %s and its step parent %s", deleted, app, kept)
	}
	if _, err := d.images.Get(base); err != nil {
		t.Errorf("rmi app removed the tagged base: %v", err)
	}
}
