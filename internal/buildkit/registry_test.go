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

// TestStoreHostsPush: a registry's push goes to the registry alone. The
// pusher HEADs each blob and manifest and skips what exists, so a store
// answering for the registry would make it skip the base layers (and a
// tag pier's store already holds); pull and resolve still ask the store.
func TestStoreHostsPush(t *testing.T) {
	next := &countTransport{}
	all := docker.HostCapabilityPull | docker.HostCapabilityResolve | docker.HostCapabilityPush
	hosts := storeHosts(func(host string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{Host: host, Capabilities: all, Client: &http.Client{Transport: next}}}, nil
	}, &http.Client{Transport: storeAlways{}})
	hs, err := hosts("127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	var pullers, pushers []docker.RegistryHost
	for _, h := range hs {
		if h.Capabilities.Has(docker.HostCapabilityPull | docker.HostCapabilityResolve) {
			pullers = append(pullers, h)
		}
		if h.Capabilities.Has(docker.HostCapabilityPush) {
			pushers = append(pushers, h)
		}
	}
	if len(pullers) != 1 || len(pushers) != 1 {
		t.Fatalf("hosts %+v: want one for pull and resolve, one for push", hs)
	}
	head := func(h docker.RegistryHost) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodHead, "http://127.0.0.1:5000/v2/x/blobs/sha256:00", nil)
		resp, err := h.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := head(pullers[0]); code != http.StatusOK || next.n != 0 {
		t.Errorf("pull HEAD of a stored blob: %d, %d requests to the registry, want 200 from the store", code, next.n)
	}
	if code := head(pushers[0]); code != http.StatusNotFound || next.n != 1 {
		t.Errorf("push HEAD of a blob: %d, %d requests to the registry, want the registry's 404", code, next.n)
	}
}

// storeAlways is a store that has everything.
type storeAlways struct{}

func (storeAlways) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}
