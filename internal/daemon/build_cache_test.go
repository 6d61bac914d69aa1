package daemon

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The step cache in df and builder prune agree: a step whose layer a
// tagged image holds is shared and frees nothing; once the tag is gone
// the step's layer is reclaimable, and prune frees exactly that.
func TestBuildCacheUsageAndPrune(t *testing.T) {
	d := newImageDaemon(t, "")
	ctx := context.Background()
	base, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "base")), "base:latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	step := func(parent, content string, tags ...string) string {
		t.Helper()
		p, err := d.images.Get(parent)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{Image: parent},
			History: []v1.History{{CreatedBy: "/bin/sh -c echo " + content}}}
		img, err := d.images.Commit(ctx, p, bytes.NewReader(rootfsTar(t, content)), cfg, tags...)
		if err != nil {
			t.Fatal(err)
		}
		return img.ID
	}
	s1 := step(base, "one")
	s2 := step(s1, "two", "app:latest")
	entries := []BuildCacheEntry{{Key: "k1", Image: s1}, {Key: "k2", Image: s2}, {Key: "k3", Image: "sha256:gone"}}
	u, err := d.BuildCacheUsage(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Items) != 2 || u.Reclaimable != 0 || !u.Items[0].Shared || !u.Items[1].Shared || u.Items[0].Size <= 0 ||
		u.Items[0].Description != "echo one" {
		t.Fatalf("usage with app tagged = %+v %+v", u, u.Items)
	}
	// The store's own remove: rmi would take the step image s1 as well.
	if _, err := d.images.Remove("app:latest", false, nil); err != nil {
		t.Fatal(err)
	}
	u, err = d.BuildCacheUsage(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Items) != 1 || u.Items[0].Shared || u.Reclaimable != u.Items[0].Size || u.Reclaimable <= 0 {
		t.Fatalf("usage once app is gone = %+v %+v", u, u.Items)
	}
	forget, freed, err := d.BuildCachePrune(ctx, entries, false)
	if err != nil {
		t.Fatal(err)
	}
	if freed != u.Reclaimable || !slices.Equal(slices.Sorted(maps.Keys(forget)), []string{"k1", "k2", "k3"}) {
		t.Errorf("prune freed %d (df said %d), forgets %v", freed, u.Reclaimable, forget)
	}
	if _, err := d.images.Get(s1); err == nil {
		t.Errorf("prune left the step image %s", s1)
	}
	if _, err := d.images.Get(base); err != nil {
		t.Errorf("prune removed the base image: %v", err)
	}
}
