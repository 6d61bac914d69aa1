package image

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
)

// killChildEnv, when set to "root ref", makes TestPullKilledHalfway the
// child that pulls ref into root and is killed by its parent.
const killChildEnv = "PIER_TEST_PULL_CHILD"

// TestPullKilledHalfway SIGKILLs a pull once two of its three layers are
// complete and the third is half downloaded, then opens the same store:
// no image or tag is visible, the temp leftovers are cleaned, and a second
// pull gets the same image while fetching only the missing blob.
func TestPullKilledHalfway(t *testing.T) {
	if arg := os.Getenv(killChildEnv); arg != "" {
		pullChild(arg)
		return
	}
	big := make([]byte, 1<<20) // random, so gzip cannot shrink it
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	src := newStore(t)
	gate := &blobGate{release: make(chan struct{}), gets: map[string]int{}}
	host := serve(t, gate.wrap)
	ref := host + "/pier/kill:v1"
	want := fixture(t, src, ref, twoLayers(t)[0], twoLayers(t)[1],
		testutil.Tar(t, testutil.TarEntry{Name: "big", Body: string(big)}))
	if _, err := src.Push(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	slow := want.Layers[2].Digest.String()
	gate.setSlow(slow)

	root := t.TempDir()
	done := killMidPull(t, root, ref, []string{shortID(want.Layers[0].Digest), shortID(want.Layers[1].Digest)})
	close(gate.release)

	// The kill left temp files, so the clean-up below has work to do.
	for _, dir := range []string{"ingest", "snapshots/tmp"} {
		if ents, _ := os.ReadDir(filepath.Join(root, dir)); len(ents) == 0 {
			t.Errorf("%s is empty after the kill: the pull was not caught half-way", dir)
		}
	}
	s, err := New(Config{Root: root, Unprivileged: os.Geteuid() != 0, Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"ingest", "snapshots/tmp"} {
		if ents, _ := os.ReadDir(filepath.Join(root, dir)); len(ents) != 0 {
			t.Errorf("%s after New: %d leftovers", dir, len(ents))
		}
	}
	if got := state(t, s); got != "|" {
		t.Errorf("store after the kill shows records and index %q", got)
	}
	if _, err := s.Get(ref); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get %s after the kill: %v", ref, err)
	}
	if imgs, err := s.List(); err != nil || len(imgs) != 0 {
		t.Errorf("images after the kill: %v %v", imgs, err)
	}
	checkBlobs(t, s)

	gate.resetGets()
	var mu sync.Mutex
	statuses := map[string][]string{}
	got, err := s.Pull(context.Background(), ref, func(p Progress) {
		mu.Lock()
		statuses[p.Layer] = append(statuses[p.Layer], p.Status)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Manifest != want.Manifest || len(got.RepoTags) != 1 || got.RepoTags[0] != ref {
		t.Errorf("pulled %s manifest %s tags %v, want %s %s", got.ID, got.Manifest, got.RepoTags, want.ID, want.Manifest)
	}
	for i, l := range want.Layers {
		if got.Layers[i] != l {
			t.Errorf("layer %d: %+v, want %+v", i, got.Layers[i], l)
		}
		reused := l.Digest.String() != slow
		if n := gate.getCount(l.Digest.String()); reused && n != 0 || !reused && n != 1 {
			t.Errorf("layer %d (%s): %d blob GETs on the second pull", i, shortID(l.Digest), n)
		}
		if st := statuses[shortID(l.Digest)]; reused != slices.Contains(st, "Already exists") {
			t.Errorf("layer %d (%s), reused %v: progress %v", i, shortID(l.Digest), reused, st)
		}
		if !s.snaps.Has(l.ChainID) {
			t.Errorf("layer %d: snapshot %s missing", i, l.ChainID)
		}
	}
	checkBlobs(t, s)
	dir, err := s.snaps.LayerDir(want.Layers[2].ChainID)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "big")); err != nil || !slices.Equal(b, big) {
		t.Errorf("big file of the resumed layer: %d bytes, %v", len(b), err)
	}
	<-done
}

// killMidPull starts the child pulling ref into root, waits until the
// layers named by complete are done and the slow one has bytes in ingest,
// SIGKILLs it and reaps it. The returned channel closes when its output
// has been read to the end.
func killMidPull(t *testing.T, root, ref string, complete []string) <-chan struct{} {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPullKilledHalfway$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+root+" "+ref)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-time.After(10 * time.Second):
			}
		}
		close(lines)
	}()
	pending := slices.Clone(complete)
	deadline := time.After(8 * time.Second)
	for len(pending) > 0 || !ingestHasBytes(root) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child ended before the kill (%v still pending)", pending)
			}
			if id, ok := strings.CutPrefix(l, "complete "); ok {
				pending = slices.DeleteFunc(pending, func(p string) bool { return p == id })
			}
			if strings.HasPrefix(l, "pull ") {
				t.Fatalf("child finished the pull: %s", l)
			}
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("timed out; layers %v not complete, ingest has bytes: %v", pending, ingestHasBytes(root))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child: %v, want killed", err)
	}
	return done
}

// pullChild is the child's side: pull, printing each completed layer.
func pullChild(arg string) {
	root, ref, _ := strings.Cut(arg, " ")
	s, err := New(Config{Root: root, Unprivileged: os.Geteuid() != 0, Jobs: 3})
	if err != nil {
		fmt.Println("pull", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	_, err = s.Pull(context.Background(), ref, func(p Progress) {
		if p.Status == "Pull complete" {
			mu.Lock()
			fmt.Println("complete", p.Layer)
			mu.Unlock()
		}
	})
	fmt.Println("pull", err)
	os.Exit(1)
}

func ingestHasBytes(root string) bool {
	ents, _ := os.ReadDir(filepath.Join(root, "ingest"))
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Size() > 0 {
			return true
		}
	}
	return false
}

// checkBlobs fails t if any blob's content does not hash to its name.
func checkBlobs(t *testing.T, s *Store) {
	t.Helper()
	blobs, err := s.blobs.blobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range blobs {
		b, err := s.blobs.read(d)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != d.Hex {
			t.Errorf("blob %s is corrupt", d)
		}
	}
}

// blobGate counts blob GETs by digest and serves one blob, the slow one,
// only up to its first 64 KiB until release is closed.
type blobGate struct {
	release chan struct{}
	mu      sync.Mutex
	slow    string         // Guarded by mu.
	gets    map[string]int // Guarded by mu.
}

func (g *blobGate) setSlow(d string) { g.mu.Lock(); g.slow = d; g.mu.Unlock() }
func (g *blobGate) resetGets()       { g.mu.Lock(); clear(g.gets); g.mu.Unlock() }

func (g *blobGate) getCount(d string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gets[d]
}

func (g *blobGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, d, isBlob := strings.Cut(r.URL.Path, "/blobs/")
		if !isBlob || r.Method != http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		g.gets[d]++
		slow := d == g.slow
		g.mu.Unlock()
		if slow {
			w = &gatedWriter{ResponseWriter: w, left: 64 << 10, release: g.release, done: r.Context().Done()}
		}
		h.ServeHTTP(w, r)
	})
}

// gatedWriter passes the first left bytes, then blocks until release (or
// the client going away) before passing the rest.
type gatedWriter struct {
	http.ResponseWriter
	left          int
	release, done <-chan struct{}
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	n := 0
	if w.left > 0 {
		k := min(w.left, len(p))
		m, err := w.ResponseWriter.Write(p[:k])
		w.left -= m
		n += m
		if err != nil || m == len(p) {
			return n, err
		}
		p = p[m:]
		w.ResponseWriter.(http.Flusher).Flush()
	}
	select {
	case <-w.release:
	case <-w.done:
		return n, io.ErrClosedPipe
	}
	m, err := w.ResponseWriter.Write(p)
	return n + m, err
}
