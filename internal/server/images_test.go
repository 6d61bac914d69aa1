package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
)

// fakeImages is an ImageBackend over a few in-memory images, with pull
// and push scripted by the test.
type fakeImages struct {
	mu sync.Mutex
	// Guarded by mu.
	imgs []*image.Summary

	pullSteps []imagestore.Progress
	pullErr   error
	pulled    string
	pruneAll  *bool
	loadBody  string
	imported  struct {
		ref, body string
		changes   []string
	}
}

func newFakeImages() *fakeImages {
	return &fakeImages{imgs: []*image.Summary{
		{ID: "sha256:aaaa1111", RepoTags: []string{"busybox:latest"}, Created: 100, Size: 1000},
		{ID: "sha256:bbbb2222", RepoTags: []string{"127.0.0.1:5000/team/app:v1", "app:v1"}, Created: 300, Labels: map[string]string{"tier": "web"}},
		{ID: "sha256:cccc3333", RepoTags: []string{}, Created: 200},
	}}
}

func (f *fakeImages) find(ref string) (*image.Summary, error) {
	for _, img := range f.imgs {
		if img.ID == ref || img.ID == "sha256:"+ref || slices.Contains(img.RepoTags, ref) || slices.Contains(img.RepoTags, ref+":latest") {
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

func (f *fakeImages) ImageInspect(_ context.Context, ref string) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.find(ref)
	if err != nil {
		return image.InspectResponse{}, err
	}
	cfg := &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Cmd: []string{"sh"}}}
	return image.InspectResponse{ID: img.ID, RepoTags: img.RepoTags, Os: "linux", Size: img.Size, Config: cfg}, nil
}

func (f *fakeImages) ImageHistory(_ context.Context, ref string) ([]image.HistoryResponseItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, err := f.find(ref)
	if err != nil {
		return nil, err
	}
	return []image.HistoryResponseItem{{ID: img.ID, CreatedBy: "pier: busybox", Size: 7}}, nil
}

func (f *fakeImages) ImageTag(_ context.Context, source, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ref != strings.ToLower(ref) {
		return fmt.Errorf("reference %q: %w", ref, errdefs.ErrInvalidArgument)
	}
	img, err := f.find(source)
	if err != nil {
		return err
	}
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

func (f *fakeImages) ImagePrune(_ context.Context, all bool, _ map[string][]string) (image.PruneReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneAll = &all
	return image.PruneReport{ImagesDeleted: []image.DeleteResponse{{Deleted: "sha256:cccc3333"}}, SpaceReclaimed: 42}, nil
}

func (f *fakeImages) ImagePull(_ context.Context, ref string, progress imagestore.ProgressFunc) error {
	f.pulled = ref
	for _, p := range f.pullSteps {
		progress(p)
	}
	return f.pullErr
}

func (f *fakeImages) ImagePush(_ context.Context, ref string, progress imagestore.ProgressFunc) (string, error) {
	f.mu.Lock()
	_, err := f.find(ref)
	f.mu.Unlock()
	if err != nil {
		return "", err
	}
	progress(imagestore.Progress{Image: ref, Layer: "0123456789ab", Status: "Pushing", Current: 5, Total: 10})
	progress(imagestore.Progress{Image: ref, Layer: "0123456789ab", Status: "Pushing", Current: 10, Total: 10})
	progress(imagestore.Progress{Image: ref, Status: "Digest: sha256:dddd"})
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
	_, err := io.WriteString(w, "tar of "+strings.Join(refs, ","))
	return err
}

func (f *fakeImages) DistributionInspect(_ context.Context, ref string) (registry.DistributionInspect, error) {
	if ref != "busybox:latest" {
		return registry.DistributionInspect{}, errdefs.Newf(errdefs.ErrNotFound, "manifest unknown: %s", ref)
	}
	return registry.DistributionInspect{Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: "sha256:abcd", Size: 42},
		Platforms: []ocispec.Platform{{OS: "linux", Architecture: "amd64"}}}, nil
}

func (f *fakeImages) ImageLoad(_ context.Context, r io.Reader) ([]image.Summary, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	f.loadBody = string(b)
	if f.loadBody == "garbage" {
		return nil, fmt.Errorf("load: neither index.json nor manifest.json: %w", errdefs.ErrInvalidArgument)
	}
	return []image.Summary{{ID: "sha256:aaaa1111", RepoTags: []string{"busybox:latest", "busybox:1"}}, {ID: "sha256:eeee"}}, nil
}

func (f *fakeImages) ImageImport(_ context.Context, r io.Reader, ref string, changes []string) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	f.imported.ref, f.imported.body, f.imported.changes = ref, string(b), changes
	return "sha256:ffff", nil
}

func (f *fakeImages) ImageLegacyInspect(_ context.Context, ref string) (string, json.RawMessage, string, error) {
	if ref != "sha256:bbbb2222" {
		return "", nil, "", nil
	}
	return "c0ffee", json.RawMessage(`{"Image":"busybox","Cmd":["touch","/test"]}`), "sha256:aaaa1111", nil
}

func newImageServer(f *fakeImages) *Server {
	return New(Config{Backend: &fakeBackend{}, Images: f, Version: "9.8.7"})
}

func imageRequest(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	h.ServeHTTP(rec, httptest.NewRequest(method, target, r))
	return rec
}

func decodeImageJSON(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
}

// streamOf decodes a JSON message stream, one object per line, keeping
// each line as a generic map so that the wire shape itself is checked.
func streamOf(t *testing.T, rec *httptest.ResponseRecorder) []map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("stream Content-Type = %q", ct)
	}
	var out []map[string]any
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stream line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func filterQuery(v string) string { return "filters=" + url.QueryEscape(v) }

func TestImageList(t *testing.T) {
	s := newImageServer(newFakeImages())
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"sha256:bbbb2222", "sha256:cccc3333", "sha256:aaaa1111"}}, // newest first
		{filterQuery(`{"dangling":{"true":true}}`), []string{"sha256:cccc3333"}},
		{filterQuery(`{"dangling":["false"]}`), []string{"sha256:bbbb2222", "sha256:aaaa1111"}},
		{filterQuery(`{"reference":{"busy*":true}}`), []string{"sha256:aaaa1111"}},
		{filterQuery(`{"reference":{"127.0.0.1:5000/team/app":true}}`), []string{"sha256:bbbb2222"}},
		{filterQuery(`{"reference":{"*:v1":true,"busybox":true}}`), []string{"sha256:bbbb2222", "sha256:aaaa1111"}},
		{filterQuery(`{"label":{"tier=web":true}}`), []string{"sha256:bbbb2222"}},
		{filterQuery(`{"label":{"tier=db":true}}`), nil},
	} {
		rec := imageRequest(t, s, "GET", "/v1.41/images/json?"+tc.query, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.query, rec.Code, rec.Body)
		}
		var got []image.Summary
		decodeImageJSON(t, rec, &got)
		var ids []string
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("images?%s = %v, want %v", tc.query, ids, tc.want)
		}
	}
	for _, bad := range []string{filterQuery(`{"color":{"red":true}}`), filterQuery(`{"dangling":{"maybe":true}}`), filterQuery(`nonsense`)} {
		if rec := imageRequest(t, s, "GET", "/images/json?"+bad, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("images?%s = %d, want 400", bad, rec.Code)
		}
	}
	// An empty list is [] on the wire, not null.
	rec := imageRequest(t, s, "GET", "/images/json?"+filterQuery(`{"label":{"none":true}}`), "")
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("empty list = %q", rec.Body)
	}
}

func TestImageInspect(t *testing.T) {
	s := newImageServer(newFakeImages())
	for _, name := range []string{"busybox", "busybox:latest", "aaaa1111", "sha256:aaaa1111"} {
		rec := imageRequest(t, s, "GET", "/v1.51/images/"+name+"/json", "")
		var got image.InspectResponse
		decodeImageJSON(t, rec, &got)
		if rec.Code != http.StatusOK || got.ID != "sha256:aaaa1111" || got.Os != "linux" {
			t.Errorf("inspect %s = %d %+v", name, rec.Code, got)
		}
	}
	// Names with slashes and a registry port.
	rec := imageRequest(t, s, "GET", "/images/127.0.0.1:5000/team/app:v1/json", "")
	var got image.InspectResponse
	decodeImageJSON(t, rec, &got)
	if rec.Code != http.StatusOK || got.ID != "sha256:bbbb2222" {
		t.Errorf("inspect with a registry = %d %+v", rec.Code, got)
	}
	rec = imageRequest(t, s, "GET", "/images/nothere/json", "")
	if rec.Code != http.StatusNotFound || !strings.Contains(decodeError(t, rec), "nothere") {
		t.Errorf("inspect unknown = %d %s", rec.Code, rec.Body)
	}
	if rec := imageRequest(t, s, "GET", "/images/busybox/bogus", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown image route = %d", rec.Code)
	}
	rec = imageRequest(t, s, "GET", "/images/busybox/history", "")
	var hist []image.HistoryResponseItem
	decodeImageJSON(t, rec, &hist)
	if rec.Code != http.StatusOK || len(hist) != 1 || hist[0].ID != "sha256:aaaa1111" {
		t.Errorf("history = %d %+v", rec.Code, hist)
	}
}

func TestImageTag(t *testing.T) {
	f := newFakeImages()
	s := newImageServer(f)
	rec := imageRequest(t, s, "POST", "/images/busybox/tag?repo=127.0.0.1:5000/busybox&tag=t", "")
	if rec.Code != http.StatusCreated {
		t.Fatalf("tag = %d %s", rec.Code, rec.Body)
	}
	if img, _ := f.find("busybox"); !slices.Contains(img.RepoTags, "127.0.0.1:5000/busybox:t") {
		t.Errorf("tags after tag = %v", img.RepoTags)
	}
	// No tag means :latest is left to the store; a repo with a tag stays.
	imageRequest(t, s, "POST", "/images/busybox/tag?repo=mine", "")
	if img, _ := f.find("busybox"); !slices.Contains(img.RepoTags, "mine") {
		t.Errorf("tags after tag without tag = %v", img.RepoTags)
	}
	for target, want := range map[string]int{
		"/images/nothere/tag?repo=x":   http.StatusNotFound,
		"/images/busybox/tag?repo=UP":  http.StatusBadRequest,
		"/images/busybox/tag":          http.StatusBadRequest,
		"/images/busybox/frobnicate?x": http.StatusNotFound,
	} {
		if rec := imageRequest(t, s, "POST", target, ""); rec.Code != want {
			t.Errorf("POST %s = %d, want %d: %s", target, rec.Code, want, rec.Body)
		}
	}
}

func TestImageRemove(t *testing.T) {
	f := newFakeImages()
	s := newImageServer(f)
	rec := imageRequest(t, s, "DELETE", "/images/app:v1", "")
	var del []image.DeleteResponse
	decodeImageJSON(t, rec, &del)
	if rec.Code != http.StatusOK || len(del) != 1 || del[0].Untagged != "app:v1" {
		t.Errorf("rmi of one of two tags = %d %+v", rec.Code, del)
	}
	imageRequest(t, s, "POST", "/images/busybox/tag?repo=other&tag=x", "")
	if rec := imageRequest(t, s, "DELETE", "/images/aaaa1111", ""); rec.Code != http.StatusConflict {
		t.Errorf("rmi by id of an image with two names = %d, want 409", rec.Code)
	}
	rec = imageRequest(t, s, "DELETE", "/images/aaaa1111?force=1", "")
	del = nil
	decodeImageJSON(t, rec, &del)
	if rec.Code != http.StatusOK || len(del) != 3 || del[2].Deleted != "sha256:aaaa1111" {
		t.Errorf("rmi -f = %d %+v", rec.Code, del)
	}
	if rec := imageRequest(t, s, "DELETE", "/images/busybox", ""); rec.Code != http.StatusNotFound {
		t.Errorf("rmi of a removed image = %d, want 404", rec.Code)
	}
	// dockerd's BoolValue: "", 0, no, false, none (any case) are false,
	// anything else true; never a 400.
	if rec := imageRequest(t, s, "DELETE", "/images/cccc3333?force=perhaps", ""); rec.Code != http.StatusOK {
		t.Errorf("rmi ?force=perhaps = %d, want 200", rec.Code)
	}
}

func TestImagePrune(t *testing.T) {
	f := newFakeImages()
	s := newImageServer(f)
	for query, all := range map[string]bool{
		"": false, filterQuery(`{"dangling":{"true":true}}`): false, filterQuery(`{"dangling":{"false":true}}`): true,
	} {
		rec := imageRequest(t, s, "POST", "/images/prune?"+query, "")
		var rep image.PruneReport
		decodeImageJSON(t, rec, &rep)
		if rec.Code != http.StatusOK || f.pruneAll == nil || *f.pruneAll != all || rep.SpaceReclaimed != 42 || len(rep.ImagesDeleted) != 1 {
			t.Errorf("prune?%s = %d %+v (all %v)", query, rec.Code, rep, f.pruneAll)
		}
	}
	if rec := imageRequest(t, s, "POST", "/images/prune?"+filterQuery(`{"until":{"1h":true}}`), ""); rec.Code != http.StatusOK {
		t.Errorf("prune until=1h = %d, want 200", rec.Code)
	}
	if rec := imageRequest(t, s, "POST", "/images/prune?"+filterQuery(`{"reference":{"x":true}}`), ""); rec.Code != http.StatusBadRequest {
		t.Errorf("prune with an unsupported filter = %d, want 400", rec.Code)
	}
}

func TestImagePullStream(t *testing.T) {
	f := newFakeImages()
	f.pullSteps = []imagestore.Progress{
		{Layer: "0123456789ab", Status: "Pulling fs layer"},
		{Layer: "0123456789ab", Status: "Downloading", Current: 512, Total: 2048},
		{Layer: "0123456789ab", Status: "Pull complete", Current: 2048, Total: 2048},
		{Layer: "ba9876543210", Status: "Already exists"},
		{Status: "Digest: sha256:dddd"},
	}
	s := newImageServer(f)
	rec := imageRequest(t, s, "POST", "/v1.41/images/create?fromImage=docker.io/library/busybox&tag=latest", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("pull = %d %s", rec.Code, rec.Body)
	}
	if f.pulled != "docker.io/library/busybox:latest" {
		t.Errorf("backend pulled %q", f.pulled)
	}
	msgs := streamOf(t, rec)
	want := []string{
		`{"id":"latest","status":"Pulling from library/busybox"}`,
		`{"id":"0123456789ab","status":"Pulling fs layer"}`,
		`{"id":"0123456789ab","progressDetail":{"current":512,"total":2048},"status":"Downloading"}`,
		`{"id":"0123456789ab","progressDetail":{"current":2048,"total":2048},"status":"Pull complete"}`,
		`{"id":"ba9876543210","status":"Already exists"}`,
		`{"status":"Digest: sha256:dddd"}`,
		`{"status":"Status: Downloaded newer image for busybox:latest"}`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("pull stream has %d messages, want %d:\n%s", len(msgs), len(want), rec.Body)
	}
	for i, m := range msgs {
		b, _ := json.Marshal(m) // map keys sorted: a stable form to compare
		if string(b) != want[i] {
			t.Errorf("message %d = %s, want %s", i, b, want[i])
		}
	}

	// Every layer already there: up to date. A digest as the tag.
	f.pullSteps = []imagestore.Progress{{Layer: "ba9876543210", Status: "Already exists"}, {Status: "Digest: sha256:dddd"}}
	rec = imageRequest(t, s, "POST", "/images/create?fromImage=127.0.0.1:5000/busybox&tag=sha256:"+strings.Repeat("d", 64), "")
	msgs = streamOf(t, rec)
	if f.pulled != "127.0.0.1:5000/busybox@sha256:"+strings.Repeat("d", 64) || len(msgs) != 4 ||
		msgs[3]["status"] != "Status: Image is up to date for 127.0.0.1:5000/busybox@sha256:"+strings.Repeat("d", 64) {
		t.Errorf("pull of a present image by digest: pulled %q, stream:\n%s", f.pulled, rec.Body)
	}
}

func TestImagePullErrors(t *testing.T) {
	f := newFakeImages()
	s := newImageServer(f)

	// Before any progress: an ordinary error response with its status.
	f.pullErr = fmt.Errorf("pull nothere: %w", errdefs.ErrNotFound)
	rec := imageRequest(t, s, "POST", "/images/create?fromImage=nothere&tag=latest", "")
	if rec.Code != http.StatusNotFound || !strings.Contains(decodeError(t, rec), "pull nothere") {
		t.Errorf("pull of an unknown image = %d %s", rec.Code, rec.Body)
	}

	// After progress: the status is sent; the error ends the stream.
	f.pullSteps = []imagestore.Progress{{Layer: "0123456789ab", Status: "Pulling fs layer"}}
	f.pullErr = errors.New("layer sha256:0123: digest mismatch")
	rec = imageRequest(t, s, "POST", "/images/create?fromImage=busybox&tag=latest", "")
	msgs := streamOf(t, rec)
	if rec.Code != http.StatusOK || len(msgs) != 3 {
		t.Fatalf("pull failing half-way = %d:\n%s", rec.Code, rec.Body)
	}
	last := msgs[2]
	detail, _ := last["errorDetail"].(map[string]any)
	if last["error"] != f.pullErr.Error() || detail["message"] != f.pullErr.Error() {
		t.Errorf("stream error = %v", last)
	}

	for target, want := range map[string]int{
		"/images/create": http.StatusBadRequest,
		"/images/create?fromImage=Bad%20Name&tag=latest": http.StatusBadRequest,
		"/images/create?fromImage=busybox&tag=a:b:c":     http.StatusBadRequest,
		"/images/create?fromSrc=http://example.com/x":    http.StatusNotImplemented,
	} {
		if rec := imageRequest(t, s, "POST", target, ""); rec.Code != want {
			t.Errorf("POST %s = %d, want %d: %s", target, rec.Code, want, rec.Body)
		}
	}
}

func TestImagePush(t *testing.T) {
	f := newFakeImages()
	imageRequest(t, newImageServer(f), "POST", "/images/busybox/tag?repo=127.0.0.1:5000/busybox&tag=t", "")
	rec := imageRequest(t, newImageServer(f), "POST", "/images/127.0.0.1:5000/busybox/push?tag=t", "")
	msgs := streamOf(t, rec)
	if rec.Code != http.StatusOK || len(msgs) != 6 {
		t.Fatalf("push = %d:\n%s", rec.Code, rec.Body)
	}
	if msgs[0]["status"] != "The push refers to repository [127.0.0.1:5000/busybox]" ||
		msgs[1]["status"] != "Pushing" || msgs[1]["id"] != "0123456789ab" ||
		msgs[3]["status"] != "Pushed" || msgs[4]["status"] != "t: digest: sha256:dddd" {
		t.Errorf("push stream:\n%s", rec.Body)
	}
	aux, _ := msgs[5]["aux"].(map[string]any)
	if aux["Tag"] != "t" || aux["Digest"] != "sha256:dddd" {
		t.Errorf("push aux = %v", msgs[5])
	}
	if rec := imageRequest(t, newImageServer(f), "POST", "/images/nothere/push?tag=latest", ""); rec.Code != http.StatusNotFound {
		t.Errorf("push of an unknown image = %d, want 404", rec.Code)
	}
}

func TestImageSave(t *testing.T) {
	s := newImageServer(newFakeImages())
	rec := imageRequest(t, s, "GET", "/images/get?names=busybox&names=app:v1", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-tar" || rec.Body.String() != "tar of busybox,app:v1" {
		t.Errorf("save = %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = imageRequest(t, s, "GET", "/images/127.0.0.1:5000/team/app:v1/get", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "tar of 127.0.0.1:5000/team/app:v1" {
		t.Errorf("save one = %d %q", rec.Code, rec.Body)
	}
	rec = imageRequest(t, s, "GET", "/images/get?names=busybox&names=nothere", "")
	if rec.Code != http.StatusNotFound || !strings.Contains(decodeError(t, rec), "nothere") {
		t.Errorf("save of an unknown image = %d %s", rec.Code, rec.Body)
	}
}

func TestImageLoad(t *testing.T) {
	f := newFakeImages()
	s := newImageServer(f)
	rec := imageRequest(t, s, "POST", "/images/load?quiet=0", "archive bytes")
	msgs := streamOf(t, rec)
	if rec.Code != http.StatusOK || f.loadBody != "archive bytes" || len(msgs) != 3 ||
		msgs[0]["stream"] != "Loaded image: busybox:latest\n" || msgs[1]["stream"] != "Loaded image: busybox:1\n" ||
		msgs[2]["stream"] != "Loaded image ID: sha256:eeee\n" {
		t.Errorf("load = %d (body %q):\n%s", rec.Code, f.loadBody, rec.Body)
	}
	// dockerd: a bad archive is an error inside a 200 stream.
	rec = imageRequest(t, s, "POST", "/images/load", "garbage")
	if msgs := streamOf(t, rec); rec.Code != http.StatusOK || len(msgs) != 1 || msgs[0]["error"] == nil || msgs[0]["errorDetail"] == nil {
		t.Errorf("load of garbage = %d %s, want 200 with an error message", rec.Code, rec.Body)
	}
}

func TestImageImport(t *testing.T) {
	f := newFakeImages()
	s := newImageServer(f)
	q := url.Values{"fromSrc": {"-"}, "repo": {"mine/rootfs"}, "tag": {"v2"}, "changes": {"CMD [\"sh\"]", "ENV A=b"}}
	rec := imageRequest(t, s, "POST", "/images/create?"+q.Encode(), "rootfs tar")
	msgs := streamOf(t, rec)
	if rec.Code != http.StatusOK || len(msgs) != 1 || msgs[0]["status"] != "sha256:ffff" {
		t.Errorf("import = %d:\n%s", rec.Code, rec.Body)
	}
	if f.imported.ref != "mine/rootfs:v2" || f.imported.body != "rootfs tar" || !slices.Equal(f.imported.changes, q["changes"]) {
		t.Errorf("import got %+v", f.imported)
	}
	imageRequest(t, s, "POST", "/images/create?fromSrc=-", "x")
	if f.imported.ref != "" {
		t.Errorf("import without repo named %q", f.imported.ref)
	}
	if rec := imageRequest(t, s, "POST", "/images/create?fromSrc=-&repo=Bad%20Name", "x"); rec.Code != http.StatusBadRequest {
		t.Errorf("import with a bad repo = %d, want 400", rec.Code)
	}
}

func TestDistributionAndSearch(t *testing.T) {
	s := newImageServer(newFakeImages())
	rec := imageRequest(t, s, "GET", "/v1.41/distribution/busybox:latest/json", "")
	var d registry.DistributionInspect
	decodeImageJSON(t, rec, &d)
	if rec.Code != http.StatusOK || d.Descriptor.Digest != "sha256:abcd" || len(d.Platforms) != 1 {
		t.Errorf("distribution = %d %s", rec.Code, rec.Body)
	}
	if rec := imageRequest(t, s, "GET", "/distribution/nothere/json", ""); rec.Code != http.StatusNotFound {
		t.Errorf("distribution of a missing image = %d", rec.Code)
	}
	if rec := imageRequest(t, s, "GET", "/images/search?term=busybox", ""); rec.Code != http.StatusNotImplemented || !strings.Contains(rec.Body.String(), "search") {
		t.Errorf("search = %d %s, want 501 with a message", rec.Code, rec.Body)
	}
}

func TestImageListTimeFilters(t *testing.T) {
	s := newImageServer(newFakeImages())
	ids := func(filter string) (int, []string) {
		rec := imageRequest(t, s, "GET", "/images/json?filters="+url.QueryEscape(filter), "")
		var list []image.Summary
		if rec.Code == http.StatusOK {
			decodeImageJSON(t, rec, &list)
		}
		var out []string
		for _, img := range list {
			out = append(out, img.ID)
		}
		slices.Sort(out)
		return rec.Code, out
	}
	for filter, want := range map[string][]string{
		`{"before":{"app:v1":true}}`:              {"sha256:aaaa1111", "sha256:cccc3333"},
		`{"since":{"busybox":true}}`:              {"sha256:bbbb2222", "sha256:cccc3333"},
		`{"since":{"cccc":true}}`:                 {"sha256:bbbb2222"},
		`{"until":{"250":true}}`:                  {"sha256:aaaa1111", "sha256:cccc3333"},
		`{"until":{"1970-01-01T00:02:30Z":true}}`: {"sha256:aaaa1111"},
	} {
		if code, got := ids(filter); code != http.StatusOK || !slices.Equal(got, want) {
			t.Errorf("images %s = %d %v, want %v", filter, code, got, want)
		}
	}
	if code, _ := ids(`{"before":{"nothere":true}}`); code != http.StatusNotFound {
		t.Errorf("before an unknown image = %d, want 404", code)
	}
	if code, _ := ids(`{"until":{"whenever":true}}`); code != http.StatusBadRequest {
		t.Errorf("until=whenever = %d, want 400", code)
	}
}

// TestImageInspectLegacy: before API 1.45 inspect carries Container,
// ContainerConfig and Parent as dockerd's did; from 1.45 on it does not.
func TestImageInspectLegacy(t *testing.T) {
	s := newImageServer(newFakeImages())
	rec := imageRequest(t, s, "GET", "/v1.41/images/app:v1/json", "")
	var got map[string]json.RawMessage
	decodeImageJSON(t, rec, &got)
	var cc struct{ Image string }
	if rec.Code != http.StatusOK || string(got["Container"]) != `"c0ffee"` || string(got["Parent"]) != `"sha256:aaaa1111"` ||
		json.Unmarshal(got["ContainerConfig"], &cc) != nil || cc.Image != "busybox" || string(got["Id"]) != `"sha256:bbbb2222"` {
		t.Errorf("inspect at 1.41 = %d %s", rec.Code, rec.Body)
	}
	rec = imageRequest(t, s, "GET", "/v1.45/images/app:v1/json", "")
	got = nil
	decodeImageJSON(t, rec, &got)
	if _, ok := got["ContainerConfig"]; rec.Code != http.StatusOK || ok || got["Container"] != nil {
		t.Errorf("inspect at 1.45 = %d %s", rec.Code, rec.Body)
	}
}

// TestImageInspectConfigFields: Config carries a null OnBuild (at every
// version pierd serves; dockerd drops it at 1.52) and the always-empty
// container fields before 1.50, as dockerd's; the image's own values are
// kept.
func TestImageInspectConfigFields(t *testing.T) {
	s := newImageServer(newFakeImages())
	config := func(version string) map[string]json.RawMessage {
		t.Helper()
		rec := imageRequest(t, s, "GET", "/"+version+"/images/app:v1/json", "")
		var got struct{ Config map[string]json.RawMessage }
		decodeImageJSON(t, rec, &got)
		if rec.Code != http.StatusOK || got.Config == nil {
			t.Fatalf("inspect at %s = %d %s", version, rec.Code, rec.Body)
		}
		return got.Config
	}
	for _, v := range []string{"v1.41", "v1.49"} {
		c := config(v)
		if string(c["OnBuild"]) != "null" || string(c["Hostname"]) != `""` || string(c["AttachStdin"]) != "false" || string(c["Cmd"]) != `["sh"]` {
			t.Errorf("Config at %s = %v", v, c)
		}
	}
	c := config("v1.51")
	if _, ok := c["Hostname"]; ok || string(c["OnBuild"]) != "null" {
		t.Errorf("Config at 1.51 = %v", c)
	}
}
