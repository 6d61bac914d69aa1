package builder

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
)

// mountCounter counts the layers a build mounts.
type mountCounter struct {
	*fakeEngine
	n atomic.Int32
}

func (m *mountCounter) Mount(ctx context.Context, image string) (string, string, error) {
	m.n.Add(1)
	return m.fakeEngine.Mount(ctx, image)
}

// A cached COPY --from needs no mount of its source once an earlier
// build hashed the same paths of the same image; a source stage rebuilt
// into a new image is hashed again, and equal content still hits the
// cache, as with dockerd.
func TestCopyFromCachedWithoutMount(t *testing.T) {
	e := &mountCounter{fakeEngine: newFakeEngine(t)}
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	df := func(word string) map[string]string {
		return map[string]string{"Dockerfile": "FROM busybox AS one\nRUN echo " + word + "\nFROM busybox\nCOPY --from=one / /one/\n"}
	}
	first := runBuild(t, b, e.fakeEngine, df("a"), Options{})
	if first.err != nil {
		t.Fatal(first.err)
	}
	if n := e.n.Load(); n != 2 {
		t.Fatalf("first build mounted %d layers, want 2 (source and destination)", n)
	}
	again := runBuild(t, b, e.fakeEngine, df("a"), Options{})
	if again.err != nil || again.id != first.id || strings.Count(again.out, "Using cache") != 2 {
		t.Fatalf("rebuild: %v, id %s (first %s); output:\n%s", again.err, again.id, first.id, again.out)
	}
	if n := e.n.Load(); n != 2 {
		t.Errorf("the rebuild mounted %d layers", n-2)
	}
	changed := runBuild(t, b, e.fakeEngine, df("b"), Options{})
	if changed.err != nil || strings.Count(changed.out, "Using cache") != 1 || changed.id != first.id {
		t.Errorf("new source stage, same files: %v, id %s (first %s); output:\n%s", changed.err, changed.id, first.id, changed.out)
	}
	if n := e.n.Load(); n != 3 {
		t.Errorf("a new source image mounted %d layers, want 1 (to hash it)", n-2)
	}
	runBuild(t, b, e.fakeEngine, df("b"), Options{NoCache: true})
	if n := e.n.Load(); n != 5 {
		t.Errorf("--no-cache mounted %d layers, want 2", n-3)
	}
	// builder prune forgets the hashes with the records.
	if _, err := b.Cache().Prune(nil); err != nil {
		t.Fatal(err)
	}
	runBuild(t, b, e.fakeEngine, df("b"), Options{})
	if n := e.n.Load(); n != 7 {
		t.Errorf("after prune, a build mounted %d layers, want 2", n-5)
	}
}
