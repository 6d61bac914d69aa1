package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/server"
)

// fakeImages is an in-memory ImageBackend: enough of an image store for
// the verbs' requests and output.
type fakeImages struct {
	mu sync.Mutex
	// Guarded by mu.
	imgs     []*image.Summary
	saved    []string
	loaded   string
	imported struct {
		ref, body string
		changes   []string
	}
	pruneAll *bool
	pullErr  error
}

func newFakeImages() *fakeImages {
	now := time.Now()
	return &fakeImages{imgs: []*image.Summary{
		{ID: "sha256:" + strings.Repeat("a", 64), RepoTags: []string{"busybox:latest"}, RepoDigests: []string{},
			Created: now.Add(-2 * time.Hour).Unix(), Size: 4_400_000},
		{ID: "sha256:" + strings.Repeat("c", 64), RepoTags: []string{}, RepoDigests: []string{}, Created: now.Add(-72 * time.Hour).Unix(), Size: 1000},
	}}
}

func (f *fakeImages) find(ref string) (*image.Summary, error) {
	for _, img := range f.imgs {
		if strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), strings.TrimPrefix(ref, "sha256:")) ||
			slices.Contains(img.RepoTags, ref) || slices.Contains(img.RepoTags, ref+":latest") {
			return img, nil
		}
	}
	return nil, fmt.Errorf("No such image: %s: %w", ref, errdefs.ErrNotFound)
}

func (f *fakeImages) ImageList(context.Context) ([]image.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []image.Summary
	for _, img := range f.imgs {
		out = append(out, *img)
	}
	return out, nil
}

// ImageLegacyInspect: the fake's images were neither committed nor built.
func (f *fakeImages) ImageLegacyInspect(context.Context, string) (string, json.RawMessage, string, error) {
	return "", nil, "", nil
}

func (f *fakeImages) ImageInspect(_ context.Context, ref string) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.find(ref)
	if err != nil {
		return image.InspectResponse{}, err
	}
	return image.InspectResponse{ID: img.ID, RepoTags: img.RepoTags, Os: "linux", Architecture: "amd64"}, nil
}

func (f *fakeImages) ImageHistory(_ context.Context, ref string) ([]image.HistoryResponseItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.find(ref)
	if err != nil {
		return nil, err
	}
	return []image.HistoryResponseItem{{ID: img.ID, CreatedBy: "pier: busybox from /bin/busybox", Size: 4_400_000, Created: img.Created}}, nil
}

func (f *fakeImages) ImageTag(_ context.Context, source, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.find(source)
	if err != nil {
		return err
	}
	// The client sends the normalized name, the store keeps the familiar.
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "docker.io/"), "library/")
	img.RepoTags = append(img.RepoTags, ref)
	return nil
}

func (f *fakeImages) ImageRemove(_ context.Context, ref string, force bool) ([]image.DeleteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.find(ref)
	if err != nil {
		return nil, err
	}
	if slices.Contains(img.RepoTags, ref) && len(img.RepoTags) > 1 {
		img.RepoTags = slices.DeleteFunc(img.RepoTags, func(t string) bool { return t == ref })
		return []image.DeleteResponse{{Untagged: ref}}, nil
	}
	if len(img.RepoTags) > 1 && !force {
		return nil, fmt.Errorf("image %s is referenced by %d names: %w", ref, len(img.RepoTags), errdefs.ErrConflict)
	}
	var out []image.DeleteResponse
	for _, t := range img.RepoTags {
		out = append(out, image.DeleteResponse{Untagged: t})
	}
	f.imgs = slices.DeleteFunc(f.imgs, func(i *image.Summary) bool { return i == img })
	return append(out, image.DeleteResponse{Deleted: img.ID}), nil
}

func (f *fakeImages) DistributionInspect(context.Context, string) (registry.DistributionInspect, error) {
	return registry.DistributionInspect{}, errdefs.ErrNotImplemented
}

func (f *fakeImages) ImagePrune(_ context.Context, all bool, _ map[string][]string) (image.PruneReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneAll = &all
	return image.PruneReport{ImagesDeleted: []image.DeleteResponse{{Deleted: "sha256:cccc"}}, SpaceReclaimed: 2048}, nil
}

func (f *fakeImages) ImagePull(_ context.Context, ref string, progress imagestore.ProgressFunc) error {
	progress(imagestore.Progress{Layer: "0123456789ab", Status: "Pulling fs layer"})
	progress(imagestore.Progress{Layer: "0123456789ab", Status: "Downloading", Current: 10, Total: 100})
	progress(imagestore.Progress{Layer: "0123456789ab", Status: "Downloading", Current: 50, Total: 100})
	if f.pullErr != nil {
		return f.pullErr
	}
	progress(imagestore.Progress{Layer: "0123456789ab", Status: "Pull complete", Current: 100, Total: 100})
	progress(imagestore.Progress{Status: "Digest: sha256:dddd"})
	return nil
}

func (f *fakeImages) ImagePush(_ context.Context, ref string, progress imagestore.ProgressFunc) (string, error) {
	progress(imagestore.Progress{Layer: "0123456789ab", Status: "Pushing", Current: 100, Total: 100})
	return "sha256:dddd", nil
}

func (f *fakeImages) ImageSave(_ context.Context, w io.Writer, refs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range refs {
		if _, err := f.find(r); err != nil {
			return err
		}
	}
	f.saved = refs
	_, err := io.WriteString(w, "TAR:"+strings.Join(refs, ","))
	return err
}

func (f *fakeImages) ImageLoad(_ context.Context, r io.Reader) ([]image.Summary, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	f.loaded = string(b)
	return []image.Summary{{ID: "sha256:aaaa", RepoTags: []string{"busybox:latest"}}}, nil
}

func (f *fakeImages) ImageImport(_ context.Context, r io.Reader, ref string, changes []string) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	f.imported.ref, f.imported.body, f.imported.changes = ref, string(b), changes
	return "sha256:ffff", nil
}

// startImageServer serves the real API with f behind /images.
func startImageServer(t *testing.T, f *fakeImages) string {
	t.Helper()
	return serveAPI(t, server.New(server.Config{Backend: fakeBackend{}, Images: f, Version: "7.7.7"}))
}

func TestImages(t *testing.T) {
	host := startImageServer(t, newFakeImages())
	code, out, errs := run(t, "-H", host, "images")
	if code != 0 {
		t.Fatalf("pier images = %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !slices.Equal(strings.Fields(lines[0]), []string{"REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"}) {
		t.Fatalf("pier images:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "busybox" || f[1] != "latest" || f[2] != "aaaaaaaaaaaa" || !strings.Contains(lines[1], "2 hours ago") || f[len(f)-1] != "4.4MB" {
		t.Errorf("busybox row %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "<none>" || f[1] != "<none>" || f[2] != "cccccccccccc" {
		t.Errorf("dangling row %q", lines[2])
	}

	code, out, _ = run(t, "-H", host, "images", "-q")
	if code != 0 || out != "aaaaaaaaaaaa\ncccccccccccc\n" {
		t.Errorf("images -q = %d %q", code, out)
	}
	code, out, _ = run(t, "-H", host, "image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "-f", "dangling=false")
	if code != 0 || out != "busybox:latest aaaaaaaaaaaa\n" {
		t.Errorf("image ls --format -f dangling=false = %d %q", code, out)
	}
	code, out, _ = run(t, "-H", host, "images", "busy*", "--format", "json")
	var row imageRow
	if code != 0 || json.Unmarshal([]byte(out), &row) != nil || row.Repository != "busybox" {
		t.Errorf("images busy* --format json = %d %q", code, out)
	}
	if code, _, errs := run(t, "-H", host, "images", "-f", "color=red"); code != ExitFailure || !strings.Contains(errs, "invalid filter") {
		t.Errorf("images -f color=red = %d %q", code, errs)
	}
}

func TestPullPlain(t *testing.T) {
	f := newFakeImages()
	host := startImageServer(t, f)
	code, out, errs := run(t, "-H", host, "pull", "busybox")
	if code != 0 {
		t.Fatalf("pier pull = %d: %s", code, errs)
	}
	// Not a terminal: one line per status change, no bars.
	want := "latest: Pulling from library/busybox\n0123456789ab: Pulling fs layer\n0123456789ab: Downloading\n" +
		"0123456789ab: Pull complete\nDigest: sha256:dddd\nStatus: Downloaded newer image for busybox:latest\n"
	if out != want {
		t.Errorf("pier pull printed:\n%s\nwant:\n%s", out, want)
	}
	if code, out, _ := run(t, "-H", host, "pull", "-q", "busybox"); code != 0 || out != "" {
		t.Errorf("pull -q = %d %q", code, out)
	}
	f.pullErr = errors.New("layer sha256:0123: unexpected EOF")
	code, _, errs = run(t, "-H", host, "pull", "busybox")
	if code != ExitFailure || !strings.Contains(errs, "unexpected EOF") {
		t.Errorf("pull failing half-way = %d %q", code, errs)
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{out: &buf, tty: true, lines: map[string]int{}}
	p.show(jsonstream.Message{Status: "Pulling from library/busybox", ID: "latest"})
	p.show(jsonstream.Message{Status: "Pulling fs layer", ID: "aaa"})
	p.show(jsonstream.Message{Status: "Pulling fs layer", ID: "bbb"})
	p.show(jsonstream.Message{Status: "Downloading", ID: "aaa", Progress: &jsonstream.Progress{Current: 50, Total: 100}})
	got := buf.String()
	// aaa's line is two up from the bottom once bbb has its own.
	for _, want := range []string{"\x1b[1A\r\x1b[2Kaaa: Pulling fs layer", "\x1b[2A\r\x1b[2Kaaa: Downloading [=========================>", "50B/100B"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal progress lacks %q:\n%q", want, got)
		}
	}
}

func TestPush(t *testing.T) {
	host := startImageServer(t, newFakeImages())
	code, out, errs := run(t, "-H", host, "push", "127.0.0.1:5000/busybox:t")
	if code != 0 || !strings.Contains(out, "The push refers to repository [127.0.0.1:5000/busybox]\n") ||
		!strings.Contains(out, "0123456789ab: Pushed\n") || !strings.Contains(out, "t: digest: sha256:dddd") {
		t.Errorf("pier push = %d %q %q", code, out, errs)
	}
}

func TestTagRmi(t *testing.T) {
	f := newFakeImages()
	host := startImageServer(t, f)
	if code, _, errs := run(t, "-H", host, "tag", "busybox", "mine:v1"); code != 0 {
		t.Fatalf("pier tag = %d %s", code, errs)
	}
	if img, _ := f.find("busybox"); !slices.Contains(img.RepoTags, "mine:v1") {
		t.Errorf("tags after pier tag: %v", img.RepoTags)
	}
	if code, _, errs := run(t, "-H", host, "tag", "nothere", "x"); code != ExitFailure || !strings.Contains(errs, "No such image") {
		t.Errorf("tag of an unknown image = %d %q", code, errs)
	}
	if code, _, errs := run(t, "-H", host, "rmi", "aaaa"); code != ExitFailure || !strings.Contains(errs, "referenced by 2 names") {
		t.Errorf("rmi by id of a twice-tagged image = %d %q", code, errs)
	}
	code, out, _ := run(t, "-H", host, "rmi", "mine:v1")
	if code != 0 || out != "Untagged: mine:v1\n" {
		t.Errorf("rmi mine:v1 = %d %q", code, out)
	}
	code, out, errs := run(t, "-H", host, "image", "rm", "-f", "nothere", "busybox")
	if code != ExitFailure || !strings.Contains(errs, "No such image: nothere") ||
		out != "Untagged: busybox:latest\nDeleted: sha256:"+strings.Repeat("a", 64)+"\n" {
		t.Errorf("rmi -f nothere busybox = %d %q %q", code, out, errs)
	}
}

func TestImageInspect(t *testing.T) {
	host := startImageServer(t, newFakeImages())
	code, out, errs := run(t, "-H", host, "image", "inspect", "busybox")
	var got []image.InspectResponse
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].Os != "linux" {
		t.Fatalf("image inspect = %d %q %q", code, out, errs)
	}
	for _, format := range []string{"{{.Id}}", "{{.ID}}"} {
		code, out, _ := run(t, "-H", host, "image", "inspect", "--format", format, "busybox")
		if code != 0 || out != got[0].ID+"\n" {
			t.Errorf("inspect --format %s = %d %q", format, code, out)
		}
	}
	code, out, errs = run(t, "-H", host, "image", "inspect", "nothere")
	if code != ExitFailure || strings.TrimSpace(out) != "[]" || !strings.Contains(errs, "No such image") {
		t.Errorf("inspect nothere = %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, "-H", host, "history", "busybox")
	if code != 0 || !strings.HasPrefix(out, "IMAGE          CREATED       CREATED BY ") || !strings.Contains(out, "aaaaaaaaaaaa   2 hours ago") {
		t.Errorf("history = %d\n%s", code, out)
	}
}

func TestSaveLoadImport(t *testing.T) {
	f := newFakeImages()
	host := startImageServer(t, f)
	file := filepath.Join(t.TempDir(), "out.tar")
	if code, _, errs := run(t, "-H", host, "save", "-o", file, "busybox", "cccc"); code != 0 {
		t.Fatalf("save = %d %s", code, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "TAR:busybox,cccc" {
		t.Errorf("saved %q %v", b, err)
	}
	missing := filepath.Join(t.TempDir(), "no.tar")
	if code, _, errs := run(t, "-H", host, "save", "-o", missing, "nothere"); code != ExitFailure || !strings.Contains(errs, "No such image") {
		t.Errorf("save nothere = %d %q", code, errs)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed save left %s: %v", missing, err)
	}
	code, out, errs := run(t, "-H", host, "load", "-i", file)
	if code != 0 || out != "Loaded image: busybox:latest\n" || f.loaded != "TAR:busybox,cccc" {
		t.Errorf("load = %d %q %q (server got %q)", code, out, errs, f.loaded)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(rootfs, []byte("rootfs bytes"), 0o644)
	code, out, errs = run(t, "-H", host, "import", "-c", "CMD [\"sh\"]", "--change", "ENV A=b", rootfs, "mine:v2")
	if code != 0 || out != "sha256:ffff\n" {
		t.Errorf("import = %d %q %q", code, out, errs)
	}
	if f.imported.ref != "mine:v2" || f.imported.body != "rootfs bytes" || !slices.Equal(f.imported.changes, []string{`CMD ["sh"]`, "ENV A=b"}) {
		t.Errorf("server imported %+v", f.imported)
	}
}

func TestImagePrune(t *testing.T) {
	f := newFakeImages()
	host := startImageServer(t, f)
	code, out, errs := run(t, "-H", host, "image", "prune", "-f")
	if code != 0 || f.pruneAll == nil || *f.pruneAll || out != "Deleted Images:\ndeleted: sha256:cccc\n\nTotal reclaimed space: 2.048kB\n" {
		t.Errorf("image prune -f = %d %q %q", code, out, errs)
	}
	if code, _, _ := run(t, "-H", host, "image", "prune", "-a", "-f"); code != 0 || !*f.pruneAll {
		t.Errorf("image prune -a -f = %d, all %v", code, *f.pruneAll)
	}
}
