package builder

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// layerEngine is the fake engine that keeps a copy of what each step's
// writable layer held when it was committed, by image id.
type layerEngine struct {
	*fakeEngine
	layers map[string]string // image id -> a copy of its layer directory
}

func (e *layerEngine) Commit(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile) (string, error) {
	e.mu.Lock()
	dir := e.live[ctr]
	e.mu.Unlock()
	id, err := e.fakeEngine.Commit(ctx, parent, ctr, cfg)
	if err != nil || dir == "" {
		return id, err
	}
	cp := filepath.Join(e.t.TempDir(), "layer")
	if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
		return "", err
	}
	e.layers[id] = cp
	return id, nil
}

func newLayerBuilder(t *testing.T) (*Builder, *layerEngine) {
	e := &layerEngine{fakeEngine: newFakeEngine(t), layers: map[string]string{}}
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	return b, e
}

// tarOf is a tar holding test/foo = "Hi", as moby's TestBuildAddTarXz
// makes it.
func tarOf(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "test/foo", Mode: 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("Hi"))
	tw.Close()
	return buf.Bytes()
}

func compressed(t *testing.T, format string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch format {
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "gz":
		w = gzip.NewWriter(&buf)
	case "zst":
		w, err = zstd.NewWriter(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ADD of a local compressed tar extracts it, as dockerd does, for every
// format dockerd reads; a doubly compressed one (.tar.xz.gz) is copied as
// a file, since dockerd strips one level only.
func TestAddExtractsCompressedTars(t *testing.T) {
	for _, format := range []string{"xz", "gz", "zst"} {
		t.Run(format, func(t *testing.T) {
			b, e := newLayerBuilder(t)
			name := "test.tar." + format
			files := map[string]string{"Dockerfile": "FROM busybox\nADD " + name + " /\n",
				name: string(compressed(t, format, tarOf(t)))}
			r := runBuild(t, b, e.fakeEngine, files, Options{})
			if r.err != nil {
				t.Fatalf("%v\n%s", r.err, r.out)
			}
			got, err := os.ReadFile(filepath.Join(e.layers[r.id], "test/foo"))
			if err != nil || string(got) != "Hi" {
				t.Fatalf("ADD %s: test/foo = %q, %v; want the archive extracted", name, got, err)
			}
		})
	}
	t.Run("xz.gz", func(t *testing.T) {
		b, e := newLayerBuilder(t)
		data := compressed(t, "gz", compressed(t, "xz", tarOf(t)))
		files := map[string]string{"Dockerfile": "FROM busybox\nADD test.tar.xz.gz /\n", "test.tar.xz.gz": string(data)}
		r := runBuild(t, b, e.fakeEngine, files, Options{})
		if r.err != nil {
			t.Fatalf("%v\n%s", r.err, r.out)
		}
		got, err := os.ReadFile(filepath.Join(e.layers[r.id], "test.tar.xz.gz"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("ADD test.tar.xz.gz: not copied as a file (%v)", err)
		}
	})
}

// Mount gives the step the files of image and its parents, as the real
// engine's overlay would.
func (e *layerEngine) Mount(ctx context.Context, image string) (string, string, error) {
	id, dir, err := e.fakeEngine.Mount(ctx, image)
	if err != nil {
		return id, dir, err
	}
	e.mu.Lock()
	var chain []string
	for img := image; img != ""; img = e.images[img].Config.Image {
		if l := e.layers[img]; l != "" {
			chain = append([]string{l}, chain...)
		}
	}
	e.mu.Unlock()
	for _, l := range chain {
		if err := copyOver(l, dir); err != nil {
			return id, dir, err
		}
	}
	return id, dir, nil
}

func copyOver(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

// VOLUME over a file of the image fails as dockerd's does ("file
// exists"); over a directory or a missing path it is a metadata step.
func TestVolumeOverAFile(t *testing.T) {
	b, e := newLayerBuilder(t)
	r := runBuild(t, b, e.fakeEngine, map[string]string{"Dockerfile": "FROM busybox\nCOPY foo /foo\nVOLUME /foo\n", "foo": "x"}, Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), "cannot mount volume over existing file, file exists /foo") {
		t.Fatalf("VOLUME over a file: err %v\n%s", r.err, r.out)
	}
	r = runBuild(t, b, e.fakeEngine, map[string]string{"Dockerfile": "FROM busybox\nCOPY foo /dir/foo\nVOLUME /dir /new\n", "foo": "x"}, Options{})
	if r.err != nil {
		t.Fatalf("VOLUME over a directory: %v\n%s", r.err, r.out)
	}
	if _, ok := r.cfg.Config.Volumes["/dir"]; !ok || !r.cfg.History[len(r.cfg.History)-1].EmptyLayer {
		t.Errorf("VOLUME: volumes %v, history %+v", r.cfg.Config.Volumes, r.cfg.History[len(r.cfg.History)-1])
	}
}

// COPY --from with a number names a stage, never an image: the current
// stage or one after it is refused with dockerd's words.
func TestCopyFromStageIndex(t *testing.T) {
	b, e := newBuilder(t)
	for df, want := range map[string]string{
		"FROM busybox\nCOPY --from=0 foo bar\n":               "invalid from flag value 0: refers to current build stage",
		"FROM busybox\nCOPY --from=5 foo bar\n":               "invalid from flag value 5: index out of bounds",
		"FROM busybox\nFROM busybox\nCOPY --from=1 foo bar\n": "invalid from flag value 1: refers to current build stage",
		"FROM busybox\nCOPY --from=nosuchimage foo bar\n":     "invalid from flag value nosuchimage",
	} {
		r := runBuild(t, b, e, map[string]string{"Dockerfile": df, "foo": "x"}, Options{})
		if r.err == nil || !strings.Contains(r.err.Error(), want) {
			t.Errorf("%q: err %v, want %q", df, r.err, want)
		}
	}
}

// --cache-from as moby's TestBuildCacheFrom: the named image's steps are
// used, an unknown name leaves the build uncached (the step cache too),
// and after other builds replaced the step records the named image's
// chain still serves every step it has.
func TestCacheFrom(t *testing.T) {
	b, e := newBuilder(t)
	df := "FROM busybox\nENV FOO=bar\nADD baz /\nRUN touch bax\n"
	files := map[string]string{"Dockerfile": df, "baz": "baz"}
	r1 := runBuild(t, b, e, files, Options{Tags: []string{"build1"}})
	if r1.err != nil {
		t.Fatal(r1.err)
	}
	r := runBuild(t, b, e, files, Options{CacheFrom: []string{"build1"}})
	if r.err != nil || r.id != r1.id || strings.Count(r.out, "Using cache") != 3 {
		t.Fatalf("cache-from build1: id %s want %s, err %v\n%s", r.id, r1.id, r.err, r.out)
	}
	r = runBuild(t, b, e, files, Options{CacheFrom: []string{"nosuchtag"}})
	if r.err != nil || r.id == r1.id || strings.Count(r.out, "Using cache") != 0 {
		t.Fatalf("cache-from nosuchtag: id %s, err %v\n%s", r.id, r.err, r.out)
	}
	files["Dockerfile"] = "FROM busybox\nENV FOO=bar\nADD baz /\nRUN touch newfile\n"
	r = runBuild(t, b, e, files, Options{CacheFrom: []string{"build1"}})
	if r.err != nil || strings.Count(r.out, "Using cache") != 2 {
		t.Fatalf("cache-from build1, last step changed: err %v\n%s", r.err, r.out)
	}
	if got, want := r.cfg.Config.Image, e.images[r1.id].Config.Image; got != want {
		t.Errorf("the changed step's parent %s, want build1's %s", got, want)
	}
}

// An image built elsewhere (no local parent chain) serves the step that
// extends the stage's image by exactly one history entry.
func TestCacheFromForeignImage(t *testing.T) {
	b, e := newBuilder(t)
	base := e.images["sha256:base"]
	foreign := &v1.ConfigFile{Architecture: "amd64", OS: "linux", Config: v1.Config{Cmd: []string{"sh"}, Image: "sha256:elsewhere"},
		History: append(slices.Clone(base.History), v1.History{CreatedBy: "/bin/sh -c #(nop)  ENV FOO=bar", EmptyLayer: true})}
	e.images["sha256:foreign"] = foreign
	e.tags["pulled"] = "sha256:foreign"
	files := map[string]string{"Dockerfile": "FROM busybox\nENV FOO=bar\n"}
	r := runBuild(t, b, e, files, Options{CacheFrom: []string{"pulled"}})
	if r.err != nil || r.id != "sha256:foreign" || !strings.Contains(r.out, "Using cache") {
		t.Fatalf("cache-from a pulled image: id %s, err %v\n%s", r.id, r.err, r.out)
	}
	files["Dockerfile"] = "FROM busybox\nENV FOO=baz\n"
	if r = runBuild(t, b, e, files, Options{CacheFrom: []string{"pulled"}}); r.err != nil || strings.Contains(r.out, "Using cache") {
		t.Fatalf("cache-from, another step: err %v\n%s", r.err, r.out)
	}
}

// childEngine is the fake engine listing the images made on a parent.
type childEngine struct{ *fakeEngine }

func (e childEngine) Children(ctx context.Context, parent string) ([]string, []*v1.ConfigFile, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	var cfgs []*v1.ConfigFile
	for id, cfg := range e.images {
		if cfg.Config.Image == parent {
			ids, cfgs = append(ids, id), append(cfgs, cfg)
		}
	}
	return ids, cfgs, nil
}

// A step whose record names a pruned image is still cached by another
// image the same step made on the same parent, as dockerd finds it among
// the parent's children.
func TestCacheFindsAnotherChild(t *testing.T) {
	fe := newFakeEngine(t)
	e := childEngine{fe}
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"Dockerfile": "FROM busybox\nENV A=1\nRUN echo hi\n"}
	first := runBuild(t, b, fe, files, Options{})
	second := runBuild(t, b, fe, files, Options{NoCache: true})
	if first.err != nil || second.err != nil || first.id == second.id {
		t.Fatalf("builds: %v %v, ids %s %s", first.err, second.err, first.id, second.id)
	}
	// Prune the second build's images: the records now name missing ones.
	for id := second.id; id != "sha256:base"; {
		parent := fe.images[id].Config.Image
		delete(fe.images, id)
		id = parent
	}
	r := runBuild(t, b, fe, files, Options{})
	if r.err != nil || r.id != first.id || strings.Count(r.out, "Using cache") != 2 {
		t.Fatalf("rebuild: id %s want %s, err %v\n%s", r.id, first.id, r.err, r.out)
	}
}

// restoreEngine is the fake engine that restores a step's image from
// another image's history entry.
type restoreEngine struct {
	*fakeEngine
	restored []int
}

func (e *restoreEngine) Restore(ctx context.Context, parent, source string, index int, cfg *v1.ConfigFile) (string, error) {
	e.mu.Lock()
	src := e.images[source]
	e.restored = append(e.restored, index)
	e.mu.Unlock()
	cfg.RootFS = src.RootFS // the fake's images have no layers
	return e.fakeEngine.Commit(ctx, parent, "", cfg)
}

// An image built elsewhere serves every step its history records: the
// middle steps are restored from it (dockerd's restoreCachedImage), the
// last is the image itself.
func TestCacheFromRestoresSteps(t *testing.T) {
	fe := newFakeEngine(t)
	e := &restoreEngine{fakeEngine: fe}
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	base := fe.images["sha256:base"]
	fe.images["sha256:foreign"] = &v1.ConfigFile{Architecture: "amd64", OS: "linux",
		Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"FOO=bar"}, Image: "sha256:elsewhere"},
		History: append(slices.Clone(base.History),
			v1.History{CreatedBy: "/bin/sh -c #(nop)  ENV FOO=bar", EmptyLayer: true},
			v1.History{CreatedBy: "/bin/sh -c #(nop)  LABEL a=b", EmptyLayer: true},
			v1.History{CreatedBy: "/bin/sh -c echo hi"})}
	fe.tags["pulled"] = "sha256:foreign"
	files := map[string]string{"Dockerfile": "FROM busybox\nENV FOO=bar\nLABEL a=b\nRUN echo hi\n"}
	r := runBuild(t, b, fe, files, Options{CacheFrom: []string{"pulled"}})
	if r.err != nil || r.id != "sha256:foreign" || strings.Count(r.out, "Using cache") != 3 || len(fe.runs) != 0 {
		t.Fatalf("cache-from a pulled image: id %s, runs %v, err %v\n%s", r.id, fe.runs, r.err, r.out)
	}
	if !slices.Equal(e.restored, []int{1, 2}) {
		t.Errorf("restored history entries %v, want [1 2]", e.restored)
	}
}

// stepEngine is the fake engine that keeps each step's container config.
type stepEngine struct {
	*fakeEngine
	steps map[string]v1.Config // image id -> its container_config
}

func (e *stepEngine) CommitStep(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile, step v1.Config) (string, error) {
	id, err := e.fakeEngine.Commit(ctx, parent, ctr, cfg)
	if err == nil {
		e.mu.Lock()
		e.steps[id] = step
		e.mu.Unlock()
	}
	return id, err
}

// Each step's image records the step's config as dockerd's container
// config: its Cmd is the step (tabs kept), with the stage's SHELL.
func TestStepContainerConfig(t *testing.T) {
	fe := newFakeEngine(t)
	e := &stepEngine{fakeEngine: fe, steps: map[string]v1.Config{}}
	b, err := New(e, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := runBuild(t, b, fe, map[string]string{"Dockerfile": "FROM busybox\nRUN echo\tone\t\ttwo\n"}, Options{})
	if got := e.steps[r.id].Cmd; r.err != nil || !slices.Equal(got, []string{"/bin/sh", "-c", "echo\tone\t\ttwo"}) {
		t.Errorf("RUN's container config Cmd %q (err %v)", got, r.err)
	}
	r = runBuild(t, b, fe, map[string]string{"Dockerfile": "FROM busybox\nSHELL [\"foo\", \"-bar\"]\n"}, Options{})
	step := e.steps[r.id]
	if r.err != nil || !slices.Equal(step.Cmd, []string{"foo", "-bar", "#(nop) ", "SHELL [foo -bar]"}) || !slices.Equal(step.Shell, []string{"foo", "-bar"}) {
		t.Errorf("SHELL's container config Cmd %q Shell %q (err %v)", step.Cmd, step.Shell, r.err)
	}
}
