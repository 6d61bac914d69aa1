package image

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestPushPullRoundTrip pushes an image made by pier, removes it locally,
// pulls it back and compares id, digest and content.
func TestPushPullRoundTrip(t *testing.T) {
	host := serve(t, nil)
	s := newStore(t)
	ref := host + "/pier/app:v1"
	img := fixture(t, s, ref, twoLayers(t)...)
	digest, err := s.Push(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if digest != img.Manifest {
		t.Errorf("pushed digest %s, manifest %s", digest, img.Manifest)
	}
	if _, err := s.Remove(ref, false, nil); err != nil {
		t.Fatal(err)
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Fatalf("images after rmi: %v", imgs)
	}
	if bl, _ := s.blobs.blobs(); len(bl) != 0 {
		t.Errorf("blobs after rmi: %v", bl)
	}
	var mu sync.Mutex
	var statuses []string
	got, err := s.Pull(context.Background(), ref, func(p Progress) {
		mu.Lock()
		statuses = append(statuses, p.Layer+" "+p.Status)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID || got.Manifest != img.Manifest {
		t.Errorf("pulled id %s manifest %s, want %s %s", got.ID, got.Manifest, img.ID, img.Manifest)
	}
	wantDigest := host + "/pier/app@" + digest.String()
	if len(got.RepoTags) != 1 || got.RepoTags[0] != ref || len(got.RepoDigests) != 1 || got.RepoDigests[0] != wantDigest {
		t.Errorf("tags %v digests %v", got.RepoTags, got.RepoDigests)
	}
	if !strings.Contains(strings.Join(statuses, "\n"), "Pull complete") {
		t.Errorf("progress: %v", statuses)
	}
	// Pulling again downloads nothing.
	statuses = nil
	if _, err := s.Pull(context.Background(), ref, func(p Progress) { statuses = append(statuses, p.Status) }); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(statuses, "\n"), "Already exists"); n != 2 {
		t.Errorf("second pull: %v", statuses)
	}
}

func TestTagRemovePrune(t *testing.T) {
	s := newStore(t)
	img := fixture(t, s, "app:v1", twoLayers(t)...)
	if err := s.Tag("app:v1", "app:v2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(img.ID[7:19], "other/app"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("other/app:latest")
	if err != nil || got.ID != img.ID || len(got.RepoTags) != 3 {
		t.Fatalf("get: %v %v", got, err)
	}
	inUse := func(id string) bool { return id == img.ID }
	if _, err := s.Remove(img.ID, false, nil); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("rmi by id with 3 names: %v", err)
	}
	if d, err := s.Remove("app:v2", false, inUse); err != nil || len(d) != 1 || d[0].Untagged != "app:v2" {
		t.Errorf("untag: %v %v", d, err)
	}
	if _, err := s.Remove("other/app", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove("app:v1", false, inUse); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("rmi of an image in use: %v", err)
	}
	d, err := s.Remove("app:v1", true, inUse)
	if err != nil || d[len(d)-1].Deleted != img.ID {
		t.Errorf("forced rmi: %v %v", d, err)
	}
	if _, err := s.Get("app:v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get after rmi: %v", err)
	}
	if layers, _ := s.snaps.Layers(); len(layers) != 0 {
		t.Errorf("snapshots left: %v", layers)
	}
	// A dangling image goes with prune, a tagged one stays.
	dangling := fixture(t, s, "", twoLayers(t)[:1]...)
	fixture(t, s, "keep:1", twoLayers(t)...)
	pruned, err := s.Prune(nil)
	if err != nil || len(pruned) != 1 || pruned[0].Deleted != dangling.ID {
		t.Errorf("prune: %v %v", pruned, err)
	}
	if imgs, _ := s.List(); len(imgs) != 1 {
		t.Errorf("after prune: %d images", len(imgs))
	}
}
