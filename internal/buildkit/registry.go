package buildkit

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LocalImages is what BuildKit reads of pier's image store: FROM an
// image pier already has (pulled, loaded, built or the offline busybox)
// resolves to it, as dockerd's builder-next takes FROM from its own
// store, and only an image pier lacks is fetched from its registry.
type LocalImages interface {
	LocalImage(ref string) (v1.Image, error)
}

// localHosts wraps BuildKit's registry hosts so that every registry's
// HTTP client answers the distribution API's pulls from pier's store
// first, in process; what the store lacks goes on to the network.
func localHosts(next docker.RegistryHosts, images LocalImages) docker.RegistryHosts {
	t := &storeTransport{images: images, blobs: map[string]v1.Image{}}
	return func(host string) ([]docker.RegistryHost, error) {
		hs, err := next(host)
		if err != nil {
			return nil, err
		}
		for i := range hs {
			c := http.Client{}
			if hs[i].Client != nil {
				c = *hs[i].Client
			}
			inner := c.Transport
			if inner == nil {
				inner = http.DefaultTransport
			}
			c.Transport = &hostTransport{storeTransport: t, host: host, next: inner}
			hs[i].Client = &c
		}
		return hs, nil
	}
}

// storeTransport serves manifests and blobs of the store's images.
type storeTransport struct {
	images LocalImages

	mu sync.Mutex
	// blobs maps a digest to an image that has it, filled as manifests
	// are served (a pull asks for the manifest before its blobs).
	blobs map[string]v1.Image // Guarded by mu.
}

type hostTransport struct {
	*storeTransport
	host string
	next http.RoundTripper
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return t.next.RoundTrip(req)
	}
	repo, kind, ref, ok := splitPath(req.URL.Path)
	if !ok {
		return t.next.RoundTrip(req)
	}
	var (
		body []byte
		mt   string
		dgst string
		rc   io.ReadCloser
		size int64
	)
	switch kind {
	case "manifests":
		img := t.manifestImage(repo, ref)
		if img == nil {
			return t.next.RoundTrip(req)
		}
		raw, err := img.RawManifest()
		if err != nil {
			return t.next.RoundTrip(req)
		}
		m, _ := img.MediaType()
		d, _ := img.Digest()
		body, mt, dgst, size = raw, string(m), d.String(), int64(len(raw))
	case "blobs":
		r, n, err := t.blob(ref)
		if err != nil {
			return t.next.RoundTrip(req)
		}
		rc, size, dgst, mt = r, n, ref, "application/octet-stream"
	default:
		return t.next.RoundTrip(req)
	}
	if rc == nil {
		rc = io.NopCloser(bytes.NewReader(body))
	}
	if req.Method == http.MethodHead {
		rc.Close()
		rc = http.NoBody
	}
	h := http.Header{}
	h.Set("Content-Type", mt)
	h.Set("Docker-Content-Digest", dgst)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: rc, ContentLength: size, Request: req}, nil
}

// manifestImage finds repo:ref (ref a tag or a manifest digest) in the
// store and notes its blobs.
func (t *hostTransport) manifestImage(repo, ref string) v1.Image {
	host := t.host
	if host == "registry-1.docker.io" {
		host = "docker.io"
	}
	name := host + "/" + repo
	if strings.HasPrefix(ref, "sha256:") {
		t.mu.Lock()
		img := t.blobs[ref]
		t.mu.Unlock()
		if img != nil {
			return img
		}
		name += "@" + ref
	} else {
		name += ":" + ref
	}
	img, err := t.images.LocalImage(name)
	if err != nil {
		return nil
	}
	t.note(img)
	return img
}

func (t *storeTransport) note(img v1.Image) {
	cfg, err := img.ConfigName()
	if err != nil {
		return
	}
	m, err := img.Manifest()
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, err := img.Digest(); err == nil {
		t.blobs[d.String()] = img
	}
	t.blobs[cfg.String()] = img
	for _, l := range m.Layers {
		t.blobs[l.Digest.String()] = img
	}
}

func (t *storeTransport) blob(d string) (io.ReadCloser, int64, error) {
	t.mu.Lock()
	img := t.blobs[d]
	t.mu.Unlock()
	if img == nil {
		return nil, 0, fmt.Errorf("blob %s not in the store", d)
	}
	h, err := v1.NewHash(d)
	if err != nil {
		return nil, 0, err
	}
	if cfg, err := img.ConfigName(); err == nil && cfg == h {
		raw, err := img.RawConfigFile()
		if err != nil {
			return nil, 0, err
		}
		return io.NopCloser(bytes.NewReader(raw)), int64(len(raw)), nil
	}
	l, err := img.LayerByDigest(h)
	if err != nil {
		return nil, 0, err
	}
	n, err := l.Size()
	if err != nil {
		return nil, 0, err
	}
	rc, err := l.Compressed()
	return rc, n, err
}

// splitPath splits /v2/<repo>/(manifests|blobs)/<ref>.
func splitPath(p string) (repo, kind, ref string, ok bool) {
	p, ok = strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", "", false
	}
	for _, k := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			return p[:i], strings.Trim(k, "/"), p[i+len(k):], true
		}
	}
	return "", "", "", false
}
