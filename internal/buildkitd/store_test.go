package buildkitd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/pier-engine/pier/internal/archive"
)

type fakeImages struct {
	imgs map[string]v1.Image
	put  []string // names of images put
	got  v1.Image
}

func (f *fakeImages) LocalImage(ref string) (v1.Image, error) {
	if img, ok := f.imgs[ref]; ok {
		return img, nil
	}
	return nil, errors.New("not found")
}

func (f *fakeImages) PutImage(_ context.Context, img v1.Image, refs []string) (string, error) {
	// Read every layer, as the store does.
	ls, err := img.Layers()
	if err != nil {
		return "", err
	}
	for _, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
	}
	f.put, f.got = refs, img
	cfg, err := img.ConfigName()
	return cfg.String(), err
}

// MissingLayers says the store lacks every layer.
func (f *fakeImages) MissingLayers(img v1.Image) ([]v1.Hash, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out, nil
}

// TestStoreRegistry: manifests by tag and by digest, the config and the
// layers of a stored image are served under the registry's host; an
// image the store lacks is a 404.
func TestStoreRegistry(t *testing.T) {
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newStoreHandler(&fakeImages{imgs: map[string]v1.Image{"docker.io/library/busybox:latest": img}}, t.TempDir()))
	defer srv.Close()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	const repo = "/v2/registry-1.docker.io/library/busybox"
	raw, _ := img.RawManifest()
	dg, _ := img.Digest()
	if code, b := get(repo + "/manifests/latest"); code != 200 || !bytes.Equal(b, raw) {
		t.Errorf("manifest by tag: %d", code)
	}
	if code, b := get(repo + "/manifests/" + dg.String()); code != 200 || !bytes.Equal(b, raw) {
		t.Errorf("manifest by digest: %d", code)
	}
	cfgName, _ := img.ConfigName()
	cfg, _ := img.RawConfigFile()
	if code, b := get(repo + "/blobs/" + cfgName.String()); code != 200 || !bytes.Equal(b, cfg) {
		t.Errorf("config blob: %d", code)
	}
	ls, _ := img.Layers()
	ld, _ := ls[1].Digest()
	lsize, _ := ls[1].Size()
	if code, b := get(repo + "/blobs/" + ld.String()); code != 200 || int64(len(b)) != lsize {
		t.Errorf("layer blob: %d, %d bytes of %d", code, len(b), lsize)
	}
	if code, _ := get("/v2/registry-1.docker.io/library/alpine/manifests/latest"); code != 404 {
		t.Errorf("image not in the store: %d, want 404", code)
	}
	for _, bad := range []string{"/v2/", "/v2/h/x/tags/list", "/other/h/x/manifests/y"} {
		if code, _ := get(bad); code != 404 {
			t.Errorf("%s: %d, want 404", bad, code)
		}
	}
}

// writeContentStore lays img out as a containerd local content store.
func writeContentStore(t *testing.T, dir string, img v1.Image) {
	t.Helper()
	put := func(d v1.Hash, b []byte) {
		p := filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := img.RawManifest()
	d, _ := img.Digest()
	put(d, raw)
	cfg, _ := img.RawConfigFile()
	cn, _ := img.ConfigName()
	put(cn, cfg)
	ls, _ := img.Layers()
	for _, l := range ls {
		rc, _ := l.Compressed()
		b, _ := io.ReadAll(rc)
		rc.Close()
		ld, _ := l.Digest()
		put(ld, b)
	}
}

// TestStorePut: an image named by its manifest in a content store under
// BuildKit's root goes into the store whole; a content store elsewhere,
// or a digest whose file does not match, is refused.
func TestStorePut(t *testing.T) {
	root, content, img, imgs, post := newStoreFixture(t, 128, 3)
	put := func(req PutRequest) (int, string) {
		t.Helper()
		code, out := post(req)
		return code, string(out)
	}
	d, _ := img.Digest()
	mt, _ := img.MediaType()
	code, body := put(PutRequest{Content: content, Manifest: d.String(), MediaType: string(mt), Names: []string{"app:1"}})
	if code != 200 {
		t.Fatalf("put: %d %s", code, body)
	}
	cn, _ := img.ConfigName()
	var out PutResponse
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.ID != cn.String() || len(imgs.put) != 1 || imgs.put[0] != "app:1" {
		t.Errorf("put answered %q (%v), names %v; want id %s", body, err, imgs.put, cn)
	}
	if gd, _ := imgs.got.Digest(); gd != d {
		t.Errorf("stored manifest %s, want %s", gd, d)
	}

	other := t.TempDir()
	writeContentStore(t, other, img)
	if code, body := put(PutRequest{Content: other, Manifest: d.String(), MediaType: string(mt)}); code != 400 {
		t.Errorf("content store outside the root: %d %s, want 400", code, body)
	}
	if code, body := put(PutRequest{Content: root + "/../" + filepath.Base(other), Manifest: d.String()}); code != 400 {
		t.Errorf("content store escaping the root: %d %s, want 400", code, body)
	}
	if code, body := put(PutRequest{Content: content, Manifest: "sha256:../../x"}); code != 400 {
		t.Errorf("bad digest: %d %s, want 400", code, body)
	}
	// A manifest file whose bytes do not match its name.
	p := filepath.Join(content, "blobs", "sha256", d.Hex)
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := put(PutRequest{Content: content, Manifest: d.String()}); code != 400 {
		t.Errorf("tampered manifest: %d %s, want 400", code, body)
	}
}

// TestStorePutLayers: POST /images/missing names the layers the store
// lacks; a put naming snapshot directories under BuildKit's root hands
// the store an image that offers each layer's blob file and directory
// (image.LayerFiles); a directory outside the root is refused.
func TestStorePutLayers(t *testing.T) {
	root := t.TempDir()
	content := filepath.Join(root, "runc-overlayfs", "content")
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	writeContentStore(t, content, img)
	imgs := &fakeImages{}
	srv := httptest.NewServer(newStoreHandler(imgs, root))
	defer srv.Close()
	post := func(path string, req PutRequest) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(req)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	d, _ := img.Digest()
	mt, _ := img.MediaType()
	m, _ := img.Manifest()
	req := PutRequest{Content: content, Manifest: d.String(), MediaType: string(mt)}
	code, body := post("/images/missing", req)
	var miss MissingResponse
	if err := json.Unmarshal(body, &miss); code != 200 || err != nil || len(miss.Layers) != 2 || miss.Layers[0] != m.Layers[0].Digest.String() {
		t.Fatalf("missing: %d %s", code, body)
	}

	snap := filepath.Join(root, "runc-overlayfs", "snapshots", "snapshots", "7", "fs")
	req.Layers = map[string]string{m.Layers[1].Digest.String(): snap}
	if code, body := post("/images", req); code != 200 {
		t.Fatalf("put with layers: %d %s", code, body)
	}
	lf, ok := imgs.got.(interface {
		LayerFiles(v1.Hash) (string, string, bool)
	})
	if !ok {
		t.Fatalf("stored image %T offers no layer files", imgs.got)
	}
	blob, dir, ok := lf.LayerFiles(m.Layers[1].Digest)
	if !ok || dir != snap || blob != filepath.Join(content, "blobs", "sha256", m.Layers[1].Digest.Hex) {
		t.Errorf("layer files: %q %q %v", blob, dir, ok)
	}
	if _, _, ok := lf.LayerFiles(m.Layers[0].Digest); ok {
		t.Error("a layer without a directory offers files")
	}

	for _, bad := range []string{t.TempDir(), root + "/../x", "relative/fs"} {
		req.Layers = map[string]string{m.Layers[1].Digest.String(): bad}
		if code, body := post("/images", req); code != 400 {
			t.Errorf("layer directory %q: %d %s, want 400", bad, code, body)
		}
	}
	req.Layers = map[string]string{"sha256:../../x": snap}
	if code, body := post("/images", req); code != 400 {
		t.Errorf("bad layer digest: %d %s, want 400", code, body)
	}
}

// TestStorePutLazy: a lazy layer is offered as files without a blob and
// read as the tar of its directory; one with no directory is refused.
func TestStorePutLazy(t *testing.T) {
	root, content, img, imgs, post := newStoreFixture(t, 64, 2)
	d, _ := img.Digest()
	mt, _ := img.MediaType()
	m, _ := img.Manifest()
	snap := filepath.Join(root, "runc-overlayfs", "snapshots", "snapshots", "7", "fs")
	if err := os.MkdirAll(filepath.Join(snap, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snap, "app", "f"), []byte("lazy"), 0o644); err != nil {
		t.Fatal(err)
	}
	lazy := m.Layers[1].Digest
	req := PutRequest{Content: content, Manifest: d.String(), MediaType: string(mt),
		Layers: map[string]string{lazy.String(): snap}, Lazy: []string{lazy.String()}}
	if code, body := post(req); code != 200 {
		t.Fatalf("put with a lazy layer: %d %s", code, body)
	}
	lf := imgs.got.(interface {
		LayerFiles(v1.Hash) (string, string, bool)
	})
	if blob, dir, ok := lf.LayerFiles(lazy); !ok || blob != "" || dir != snap {
		t.Errorf("lazy layer files: %q %q %v, want no blob and %s", blob, dir, ok, snap)
	}
	l, err := imgs.got.LayerByDigest(lazy)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	var want bytes.Buffer
	if err := archive.LayerTar(&want, snap); err != nil {
		t.Fatal(err)
	}
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("lazy layer read: %d bytes (%v), want the directory's tar (%d bytes)", len(got), err, want.Len())
	}

	req.Lazy = []string{m.Layers[0].Digest.String()}
	if code, body := post(req); code != 400 {
		t.Errorf("lazy layer without a directory: %d %s, want 400", code, body)
	}
}

// newStoreFixture is a store handler over a BuildKit root whose content
// store holds a random image of n layers of size bytes, and post, which
// sends a PutRequest to it and returns the status and body.
func newStoreFixture(t *testing.T, size, n int64) (root, content string, img v1.Image, imgs *fakeImages, post func(PutRequest) (int, []byte)) {
	t.Helper()
	root = t.TempDir()
	content = filepath.Join(root, "runc-overlayfs", "content")
	img, err := random.Image(size, n)
	if err != nil {
		t.Fatal(err)
	}
	writeContentStore(t, content, img)
	imgs = &fakeImages{}
	srv := httptest.NewServer(newStoreHandler(imgs, root))
	t.Cleanup(srv.Close)
	post = func(req PutRequest) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(req)
		resp, err := http.Post(srv.URL+"/images", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	return root, content, img, imgs, post
}
