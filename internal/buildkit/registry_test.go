package buildkit

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker"
)

type countTransport struct{ n int }

func (c *countTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n++
	return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody}, nil
}

// TestStoreTransport: pulls go to pierd's store socket first, under the
// registry's host; what the store answers 404 goes on to the registry,
// and what is not a pull goes there at once.
func TestStoreTransport(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "store.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/v2/registry-1.docker.io/library/busybox/manifests/latest" {
			w.Header().Set("Docker-Content-Digest", "sha256:00")
			_, _ = io.WriteString(w, "manifest")
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(l)
	defer srv.Close()

	next := &countTransport{}
	hosts := storeHosts(func(host string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{Host: host, Client: &http.Client{Transport: next}}}, nil
	}, storeClient(sock))
	hs, err := hosts("registry-1.docker.io")
	if err != nil {
		t.Fatal(err)
	}
	c := hs[0].Client
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get("https://registry-1.docker.io" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := get("/v2/library/busybox/manifests/latest"); code != 200 || b != "manifest" || next.n != 0 {
		t.Errorf("stored manifest: %d %q, %d requests to the registry", code, b, next.n)
	}
	if code, _ := get("/v2/library/alpine/manifests/latest"); code != 404 || next.n != 1 {
		t.Errorf("manifest the store lacks: %d, %d requests to the registry, want 404 from the registry", code, next.n)
	}
	if _, _ = get("/v2/library/alpine/tags/list"); next.n != 2 || len(asked) != 2 {
		t.Errorf("tags list: %d requests to the registry, store asked %v", next.n, asked)
	}
}
