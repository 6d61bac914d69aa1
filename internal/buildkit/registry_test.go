package buildkit

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func TestSplitPath(t *testing.T) {
	for _, c := range []struct{ in, repo, kind, ref string }{
		{"/v2/library/busybox/manifests/latest", "library/busybox", "manifests", "latest"},
		{"/v2/a/b/c/blobs/sha256:00", "a/b/c", "blobs", "sha256:00"},
	} {
		repo, kind, ref, ok := splitPath(c.in)
		if !ok || repo != c.repo || kind != c.kind || ref != c.ref {
			t.Errorf("splitPath(%q) = %q %q %q %v", c.in, repo, kind, ref, ok)
		}
	}
	for _, bad := range []string{"/v2/", "/v2/x/tags/list", "/other/x/manifests/y"} {
		if _, _, _, ok := splitPath(bad); ok {
			t.Errorf("splitPath(%q) accepted", bad)
		}
	}
}

type fakeImages map[string]v1.Image

func (f fakeImages) LocalImage(ref string) (v1.Image, error) {
	if img, ok := f[ref]; ok {
		return img, nil
	}
	return nil, errors.New("not found")
}

type countTransport struct{ n int }

func (c *countTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n++
	return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody}, nil
}

// TestStoreTransport: manifests by tag and by digest, the config and the
// layers of an image in the store are served in process; anything else
// goes to the next transport.
func TestStoreTransport(t *testing.T) {
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	next := &countTransport{}
	hosts := localHosts(func(host string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{Host: "registry-1.docker.io", Client: &http.Client{Transport: next}}}, nil
	}, fakeImages{"docker.io/library/busybox:latest": img})
	hs, err := hosts("registry-1.docker.io")
	if err != nil {
		t.Fatal(err)
	}
	c := hs[0].Client
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := c.Get("https://registry-1.docker.io" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	raw, _ := img.RawManifest()
	dg, _ := img.Digest()
	if code, b := get("/v2/library/busybox/manifests/latest"); code != 200 || string(b) != string(raw) {
		t.Errorf("manifest by tag: %d", code)
	}
	if code, b := get("/v2/library/busybox/manifests/" + dg.String()); code != 200 || string(b) != string(raw) {
		t.Errorf("manifest by digest: %d", code)
	}
	cfgName, _ := img.ConfigName()
	cfg, _ := img.RawConfigFile()
	if code, b := get("/v2/library/busybox/blobs/" + cfgName.String()); code != 200 || string(b) != string(cfg) {
		t.Errorf("config blob: %d", code)
	}
	ls, _ := img.Layers()
	ld, _ := ls[1].Digest()
	lsize, _ := ls[1].Size()
	if code, b := get("/v2/library/busybox/blobs/" + ld.String()); code != 200 || int64(len(b)) != lsize {
		t.Errorf("layer blob: %d, %d bytes of %d", code, len(b), lsize)
	}
	if next.n != 0 {
		t.Errorf("%d requests went to the network for a stored image", next.n)
	}
	if code, _ := get("/v2/library/alpine/manifests/latest"); code != 404 || next.n != 1 {
		t.Errorf("image not in the store: %d, network requests %d, want 404 from the next transport", code, next.n)
	}
}
