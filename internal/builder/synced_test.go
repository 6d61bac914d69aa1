package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// syncClient plays pier's CLI: a context as path -> content ("" ending
// in / is a directory), listed with fixed times.
type syncClient struct {
	t     *testing.T
	key   string
	files map[string]string
	mtime map[string]int64
}

func newSyncClient(t *testing.T, files map[string]string) *syncClient {
	return &syncClient{t: t, key: strings.Repeat("ab", 32), files: files, mtime: map[string]int64{}}
}

func (sc *syncClient) listing() []SyncFile {
	var out []SyncFile
	for p, c := range sc.files {
		if strings.HasSuffix(p, "/") {
			out = append(out, SyncFile{Path: strings.TrimSuffix(p, "/"), Mode: modeDir | 0o755, Mtime: 1e18})
			continue
		}
		out = append(out, SyncFile{Path: p, Mode: modeReg | 0o644, Size: int64(len(c)), Mtime: 1e18 + sc.mtime[p]})
	}
	return out
}

// tarOfNeed is the body a client sends for need.
func (sc *syncClient) tarOfNeed(need []string) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range need {
		c := sc.files[p]
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			sc.t.Fatal(err)
		}
		tw.Write([]byte(c))
	}
	tw.Close()
	return &buf
}

// sync runs one whole sync and returns the published context, which the
// caller closes, and what was asked for.
func (sc *syncClient) sync(c *Contexts) (*buildContext, []string) {
	sc.t.Helper()
	reply, err := c.Diff(SyncRequest{Key: sc.key, Files: sc.listing()})
	if err != nil {
		sc.t.Fatal(err)
	}
	g, err := c.receive(context.Background(), reply.Session, sc.tarOfNeed(reply.Need))
	if err != nil {
		sc.t.Fatal(err)
	}
	bc, err := c.syncedContext(g)
	if err != nil {
		sc.t.Fatal(err)
	}
	bc.ready(nil)
	return bc, reply.Need
}

func openTestContexts(t *testing.T) *Contexts {
	c, err := OpenContexts(filepath.Join(t.TempDir(), "contexts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func inode(t *testing.T, p string) uint64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// gens lists the generation directories on disk.
func gens(t *testing.T, c *Contexts) []string {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestSyncSendsOnlyWhatChanged(t *testing.T) {
	c := openTestContexts(t)
	sc := newSyncClient(t, map[string]string{"Dockerfile": "FROM busybox\n", "dir/": "", "dir/a": "aaa", "b": "bbbb"})
	first, need := sc.sync(c)
	if strings.Join(need, ",") != "Dockerfile,b,dir/a" {
		t.Fatalf("first sync asked for %q, want every file", need)
	}
	if got, err := first.root.ReadFile("dir/a"); err != nil || string(got) != "aaa" {
		t.Fatalf("synced dir/a = %q, %v", got, err)
	}
	sumA := first.sums["dir/a"]
	firstDir := first.dir
	first.close()
	if c.Received() != int64(len("FROM busybox\n")+3+4) {
		t.Errorf("received %d bytes", c.Received())
	}

	again, need := sc.sync(c)
	if len(need) != 0 {
		t.Errorf("unchanged sync asked for %q", need)
	}
	if again.sums["dir/a"] != sumA || sumA.hex == "" {
		t.Errorf("sum of dir/a %v, first %v: it must carry over", again.sums["dir/a"], sumA)
	}
	ino := inode(t, filepath.Join(again.dir, "dir/a"))
	again.close()
	if _, err := os.Stat(firstDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the first generation outlived its build and its successor: %v", err)
	}

	sc.files["dir/a"] = "changed"
	sc.mtime["dir/a"] = 5
	delete(sc.files, "b")
	third, need := sc.sync(c)
	defer third.close()
	if strings.Join(need, ",") != "dir/a" {
		t.Errorf("after a change asked for %q, want dir/a alone", need)
	}
	if got, _ := third.root.ReadFile("dir/a"); string(got) != "changed" {
		t.Errorf("dir/a = %q", got)
	}
	if inode(t, filepath.Join(third.dir, "dir/a")) == ino {
		t.Error("a changed file must be a new inode, never written in place")
	}
	if _, err := third.root.Stat("b"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("b was deleted on the client but is in the context: %v", err)
	}
	if third.sums["dir/a"].hex == sumA.hex || third.sums["dir/a"].size != 7 {
		t.Errorf("sum not recomputed: %v", third.sums["dir/a"])
	}
}

func TestSyncBuildSeesOneSnapshot(t *testing.T) {
	c := openTestContexts(t)
	sc := newSyncClient(t, map[string]string{"f": "one"})
	old, _ := sc.sync(c)
	sc.files["f"], sc.mtime["f"] = "two", 1
	cur, _ := sc.sync(c)
	// The older build still reads its own generation.
	if got, _ := old.root.ReadFile("f"); string(got) != "one" {
		t.Errorf("a running build's context changed under it: f = %q", got)
	}
	if got, _ := cur.root.ReadFile("f"); string(got) != "two" {
		t.Errorf("new build reads f = %q", got)
	}
	if n := len(gens(t, c)); n != 2 {
		t.Errorf("%d generations on disk, want 2 (one per running build)", n)
	}
	old.close()
	cur.close()
	if n := len(gens(t, c)); n != 1 {
		t.Errorf("%d generations on disk after both builds, want the current one", n)
	}
	if n, size := c.Prune(); n != 1 || size != 3 {
		t.Errorf("prune = %d, %d; want 1 context of 3 bytes", n, size)
	}
	if n := len(gens(t, c)); n != 0 {
		t.Errorf("prune left %d generations", n)
	}
}

func TestSyncRefusesHostileListings(t *testing.T) {
	c := openTestContexts(t)
	key := strings.Repeat("0", 64)
	reg := func(p string) SyncFile { return SyncFile{Path: p, Mode: modeReg | 0o644} }
	for name, files := range map[string][]SyncFile{
		"dotdot":       {reg("../escape")},
		"inner dotdot": {{Path: "d", Mode: modeDir | 0o755}, reg("d/../../x")},
		"absolute":     {reg("/etc/passwd")},
		"unclean":      {reg("./a")},
		"empty":        {reg("")},
		"under a link": {{Path: "l", Mode: modeLink | 0o777, Link: "/etc"}, reg("l/passwd")},
		"no parent":    {reg("nodir/f")},
		"device":       {{Path: "dev", Mode: 0o020000 | 0o644}},
		"twice":        {reg("a"), reg("a")},
		"nul":          {reg("a\x00b")},
	} {
		if _, err := c.Diff(SyncRequest{Key: key, Files: files}); err == nil {
			t.Errorf("%s: listing %v accepted", name, files)
		}
	}
	if _, err := c.Diff(SyncRequest{Key: "../../etc", Files: nil}); err == nil {
		t.Error("a key that is not hex was accepted")
	}
	// A tar naming what was not asked for, or a path outside.
	for name, hdr := range map[string]*tar.Header{
		"not asked": {Name: "other", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		"escape":    {Name: "../f", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		"symlink":   {Name: "f", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
	} {
		reply, err := c.Diff(SyncRequest{Key: key, Files: []SyncFile{reg("f")}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(hdr)
		if hdr.Size > 0 {
			tw.Write([]byte("x"))
		}
		tw.Close()
		if _, err := c.receive(context.Background(), reply.Session, &buf); err == nil {
			t.Errorf("%s: tar accepted", name)
		}
	}
	if left := gens(t, c); len(left) != 0 {
		t.Errorf("refused syncs left %v", left)
	}
}

// brokenReader ends with an error after n bytes: a client gone mid-sync.
type brokenReader struct {
	r io.Reader
	n int
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= n
	return n, err
}

func TestSyncDisconnectLeavesNothing(t *testing.T) {
	c := openTestContexts(t)
	sc := newSyncClient(t, map[string]string{"small": "s", "big": strings.Repeat("x", 1<<20)})
	first, _ := sc.sync(c)
	first.close()
	before := gens(t, c)
	sc.files["big"], sc.mtime["big"] = strings.Repeat("y", 1<<20), 1
	reply, err := c.Diff(SyncRequest{Key: sc.key, Files: sc.listing()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.receive(context.Background(), reply.Session, &brokenReader{r: sc.tarOfNeed(reply.Need), n: 4096}); err == nil {
		t.Fatal("a sync cut half-way succeeded")
	}
	if after := gens(t, c); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("generations %v after a cut sync, want %v", after, before)
	}
	if _, err := c.receive(context.Background(), reply.Session, sc.tarOfNeed(reply.Need)); err == nil {
		t.Error("a session was used twice")
	}
	// The current generation is still the first: big is asked for again.
	again, need := sc.sync(c)
	defer again.close()
	if strings.Join(need, ",") != "big" {
		t.Errorf("after a cut sync asked for %q, want big", need)
	}
	if got, _ := again.root.ReadFile("big"); !strings.HasPrefix(string(got), "yyyy") {
		t.Error("big is not the new content")
	}
}

func TestSyncEvictsOverLimits(t *testing.T) {
	c := openTestContexts(t)
	c.maxKeys = 2
	for i, k := range []string{"1", "2", "3"} {
		sc := newSyncClient(t, map[string]string{"f": strings.Repeat("z", i+1)})
		sc.key = strings.Repeat(k, 64)
		bc, _ := sc.sync(c)
		bc.close()
	}
	if n, _ := c.Usage(); n != 2 {
		t.Errorf("%d synced contexts kept, want the limit, 2", n)
	}
	if _, ok := c.keys[strings.Repeat("1", 64)]; ok {
		t.Error("the least recently used context was kept")
	}
}

// TestSyncedBuildRunsNothingTwice: a build from a synced context, then
// the same again: no RUN, nothing sent; a changed file reruns the steps
// after its COPY.
func TestSyncedBuildRunsNothingTwice(t *testing.T) {
	b, e := newBuilder(t)
	sc := newSyncClient(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo one\nCOPY f /f\nRUN echo two\n", "f": "v1", ".dockerignore": "secret\n", "secret": "no",
	})
	build := func() (string, []string, string) {
		t.Helper()
		reply, err := b.Contexts().Diff(SyncRequest{Key: sc.key, Files: sc.listing()})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		id, err := b.Build(context.Background(), sc.tarOfNeed(reply.Need), Options{ContextSession: reply.Session, Out: &out, Remove: true})
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out.String())
		}
		return id, reply.Need, out.String()
	}
	id1, need, _ := build()
	if len(e.runs) != 2 || len(need) != 4 {
		t.Fatalf("first build: %d runs, asked for %q", len(e.runs), need)
	}
	id2, need, out := build()
	if id2 != id1 || len(e.runs) != 2 || strings.Count(out, "Using cache") != 3 {
		t.Errorf("unchanged rebuild: id %s (first %s), %d runs\n%s", id2, id1, len(e.runs), out)
	}
	// .dockerignore'd secret and the ignored .dockerignore are not kept,
	// so they come again: the rest does not.
	if strings.Join(need, ",") != "secret" {
		t.Errorf("unchanged rebuild asked for %q, want only the ignored secret", need)
	}
	sc.files["f"], sc.mtime["f"] = "v2", 1
	id3, need, out := build()
	if id3 == id1 || len(e.runs) != 3 || strings.Count(out, "Using cache") != 1 || strings.Join(need, ",") != "f,secret" {
		t.Errorf("changed f: %d runs, asked for %q\n%s", len(e.runs), need, out)
	}
}

// upperFake is the fake engine with its mounts as their own upper
// directories; Commit records the inode of /app/f.
type upperFake struct {
	*fakeEngine
	inodes []uint64
}

func (u *upperFake) UpperDir(id string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.live[id], nil
}

func (u *upperFake) Commit(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile) (string, error) {
	u.mu.Lock()
	dir := u.live[ctr]
	u.mu.Unlock()
	if fi, err := os.Stat(filepath.Join(dir, "app", "f")); dir != "" && err == nil {
		u.inodes = append(u.inodes, fi.Sys().(*syscall.Stat_t).Ino)
	}
	return u.fakeEngine.Commit(ctx, parent, ctr, cfg)
}

// TestSyncedCopyLinks: COPY of a synced context's file hard-links it into
// the step's layer (same inode, same content), but not with --chmod.
func TestSyncedCopyLinks(t *testing.T) {
	e := &upperFake{fakeEngine: newFakeEngine(t)}
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	sc := newSyncClient(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /app/f\nCOPY --chmod=600 f /app/f\n", "f": "content"})
	reply, err := b.Contexts().Diff(SyncRequest{Key: sc.key, Files: sc.listing()})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := b.Build(context.Background(), sc.tarOfNeed(reply.Need), Options{ContextSession: reply.Session, Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	k := b.Contexts().keys[sc.key]
	src := inode(t, filepath.Join(b.Contexts().path(k.cur), "f"))
	if len(e.inodes) != 2 || e.inodes[0] != src || e.inodes[1] == src {
		t.Errorf("layer inodes %v, context file %d: want the first COPY linked, the --chmod one copied", e.inodes, src)
	}
}
