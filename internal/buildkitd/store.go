package buildkitd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Images is what pier-buildkitd reaches of pier's image store: FROM an
// image pier already has (pulled, loaded, built or the offline busybox)
// resolves to it, as dockerd's builder-next takes FROM from its own
// store, and a built image is put into it.
type Images interface {
	LocalImage(ref string) (v1.Image, error)
	PutImage(ctx context.Context, img v1.Image, refs []string) (id string, err error)
	// MissingLayers lists the layers of img the store lacks.
	MissingLayers(img v1.Image) ([]v1.Hash, error)
}

// PutRequest is the body of the store socket's POST /images: the moby
// exporter's image, named by its manifest in BuildKit's content store
// (a containerd local store: <Content>/blobs/<algorithm>/<hex>).
type PutRequest struct {
	Content   string   `json:"content"`
	Manifest  string   `json:"manifest"`
	MediaType string   `json:"mediaType"`
	Names     []string `json:"names,omitempty"`
	// Layers maps layer digests to the directories (under BuildKit's
	// root) holding the same layers' files: the committed overlay
	// snapshots they were made in. The store hard-links them and the
	// blobs instead of copying (image.LayerFiles).
	Layers map[string]string `json:"layers,omitempty"`
	// Lazy lists the layers (each also in Layers) that have no blob in
	// the content store: uncompressed layers named by their diff id,
	// which the store keeps as files alone (image's lazy layers) and,
	// when it cannot link them, reads as archive.LayerTar of their
	// directory.
	Lazy []string `json:"lazy,omitempty"`
}

// MissingResponse is POST /images/missing's answer: the digests of the
// request's layers that pier's store lacks, for which pier-buildkitd
// then names their snapshot directories.
type MissingResponse struct {
	Layers []string `json:"layers"`
}

// PutResponse is POST /images' answer: the image's id.
type PutResponse struct {
	ID string `json:"id"`
}

// storeHandler serves pier's image store to pier-buildkitd:
//
//	GET|HEAD /v2/<host>/<repo>/manifests/<tag or digest>
//	GET|HEAD /v2/<host>/<repo>/blobs/<digest>
//	POST     /images   (PutRequest)
//	POST     /images/missing (PutRequest without names or layers)
//
// The registry routes answer 404 for what the store lacks; the child's
// transport then goes on to the registry itself.
type storeHandler struct {
	images Images
	// root is BuildKit's state directory; a PutRequest's content store
	// must lie under it.
	root string

	mu sync.Mutex
	// blobs maps a digest to an image that has it, filled as manifests
	// are served (a pull asks for the manifest before its blobs).
	blobs map[string]v1.Image // Guarded by mu.
}

func newStoreHandler(images Images, root string) *storeHandler {
	return &storeHandler{images: images, root: filepath.Clean(root), blobs: map[string]v1.Image{}}
}

func (h *storeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/images" && r.Method == http.MethodPost {
		h.put(w, r)
		return
	}
	if r.URL.Path == "/images/missing" && r.Method == http.MethodPost {
		h.missing(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	host, repo, kind, ref, ok := splitPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	var (
		rc         io.ReadCloser
		size       int64
		mt, digest string
	)
	switch kind {
	case "manifests":
		img := h.manifestImage(host, repo, ref)
		if img == nil {
			http.NotFound(w, r)
			return
		}
		raw, err := img.RawManifest()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		m, _ := img.MediaType()
		d, _ := img.Digest()
		rc, size, mt, digest = io.NopCloser(bytes.NewReader(raw)), int64(len(raw)), string(m), d.String()
	default:
		b, n, err := h.blob(ref)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		rc, size, mt, digest = b, n, "application/octet-stream", ref
	}
	defer rc.Close()
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.Copy(w, rc) // a short copy is the child's to notice (digest)
	}
}

// manifestImage finds host/repo:ref (ref a tag or a manifest digest) in
// the store and notes its blobs.
func (h *storeHandler) manifestImage(host, repo, ref string) v1.Image {
	if host == "registry-1.docker.io" {
		host = "docker.io"
	}
	name := host + "/" + repo
	if strings.HasPrefix(ref, "sha256:") {
		h.mu.Lock()
		img := h.blobs[ref]
		h.mu.Unlock()
		if img != nil {
			return img
		}
		name += "@" + ref
	} else {
		name += ":" + ref
	}
	img, err := h.images.LocalImage(name)
	if err != nil {
		return nil
	}
	h.note(img)
	return img
}

func (h *storeHandler) note(img v1.Image) {
	cfg, err := img.ConfigName()
	if err != nil {
		return
	}
	m, err := img.Manifest()
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, err := img.Digest(); err == nil {
		h.blobs[d.String()] = img
	}
	h.blobs[cfg.String()] = img
	for _, l := range m.Layers {
		h.blobs[l.Digest.String()] = img
	}
}

func (h *storeHandler) blob(d string) (io.ReadCloser, int64, error) {
	h.mu.Lock()
	img := h.blobs[d]
	h.mu.Unlock()
	if img == nil {
		return nil, 0, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	hash, err := v1.NewHash(d)
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", d, err)
	}
	if cfg, err := img.ConfigName(); err == nil && cfg == hash {
		raw, err := img.RawConfigFile()
		if err != nil {
			return nil, 0, err
		}
		return io.NopCloser(bytes.NewReader(raw)), int64(len(raw)), nil
	}
	l, err := img.LayerByDigest(hash)
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

// splitPath splits /v2/<host>/<repo>/(manifests|blobs)/<ref>.
func splitPath(p string) (host, repo, kind, ref string, ok bool) {
	p, ok = strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", "", "", false
	}
	host, p, ok = strings.Cut(p, "/")
	if !ok || host == "" {
		return "", "", "", "", false
	}
	for _, k := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			return host, p[:i], strings.Trim(k, "/"), p[i+len(k):], true
		}
	}
	return "", "", "", "", false
}

// put takes a built image into the store.
func (h *storeHandler) put(w http.ResponseWriter, r *http.Request) {
	var req PutRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf("put image: %v", err), http.StatusBadRequest)
		return
	}
	img, err := h.openImage(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, err := h.images.PutImage(r.Context(), img, req.Names)
	if err != nil {
		http.Error(w, fmt.Sprintf("store image: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(PutResponse{ID: id})
}

// missing answers which of an image's layers the store lacks.
func (h *storeHandler) missing(w http.ResponseWriter, r *http.Request) {
	var req PutRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf("missing layers: %v", err), http.StatusBadRequest)
		return
	}
	req.Layers, req.Lazy = nil, nil
	img, err := h.openImage(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ds, err := h.images.MissingLayers(img)
	if err != nil {
		http.Error(w, fmt.Sprintf("missing layers: %v", err), http.StatusBadRequest)
		return
	}
	out := MissingResponse{Layers: []string{}}
	for _, d := range ds {
		out.Layers = append(out.Layers, d.String())
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// openImage checks that req's content store and layer directories are
// BuildKit's and opens the image there.
func (h *storeHandler) openImage(req PutRequest) (v1.Image, error) {
	dir, err := h.under(req.Content)
	if err != nil {
		return nil, fmt.Errorf("put image: content store: %w", err)
	}
	img, err := openDirImage(dir, req.Manifest, req.MediaType)
	if err != nil || len(req.Layers) == 0 {
		return img, err
	}
	files := make(map[v1.Hash]string, len(req.Layers))
	for d, p := range req.Layers {
		h2, err := v1.NewHash(d)
		if err != nil || !digestPattern.MatchString(d) {
			return nil, fmt.Errorf("put image: layer digest %q: %w", d, errdefs.ErrInvalidArgument)
		}
		if files[h2], err = h.under(p); err != nil {
			return nil, fmt.Errorf("put image: layer %s: %w", d, err)
		}
	}
	lazy := make(map[v1.Hash]bool, len(req.Lazy))
	for _, d := range req.Lazy {
		h2, err := v1.NewHash(d)
		if err != nil || files[h2] == "" {
			return nil, fmt.Errorf("put image: lazy layer %q has no directory: %w", d, errdefs.ErrInvalidArgument)
		}
		lazy[h2] = true
	}
	return linkedImage{Image: img, dir: dir, files: files, lazy: lazy}, nil
}

// under cleans p and checks that it lies under BuildKit's root.
func (h *storeHandler) under(p string) (string, error) {
	c := filepath.Clean(p)
	if !filepath.IsAbs(c) || !strings.HasPrefix(c, h.root+string(filepath.Separator)) {
		return "", fmt.Errorf("%q is not under %s: %w", p, h.root, errdefs.ErrInvalidArgument)
	}
	return c, nil
}

// linkedImage is a built image whose layers' files lie in BuildKit's
// snapshots: pier's store links them (image.LayerFiles).
type linkedImage struct {
	v1.Image
	// dir is the content store.
	dir string
	// files maps a layer's digest to its snapshot directory.
	files map[v1.Hash]string
	// lazy marks the layers without a blob (PutRequest.Lazy).
	lazy map[v1.Hash]bool
}

func (li linkedImage) LayerFiles(d v1.Hash) (blob, dir string, ok bool) {
	dir, ok = li.files[d]
	if !ok {
		return "", "", false
	}
	if li.lazy[d] {
		return "", dir, true
	}
	blob, err := blobPath(li.dir, d.String())
	return blob, dir, err == nil
}

// LayerByDigest serves a lazy layer as the tar of its directory, for a
// store that cannot link it (unprivileged, another filesystem): it
// unpacks that and checks it against the digest.
func (li linkedImage) LayerByDigest(d v1.Hash) (v1.Layer, error) {
	if !li.lazy[d] {
		return li.Image.LayerByDigest(d)
	}
	l, err := li.Image.LayerByDigest(d)
	if err != nil {
		return nil, err
	}
	return dirTarLayer{Layer: l, dir: li.files[d]}, nil
}

// dirTarLayer is a layer read as archive.LayerTar of its directory.
type dirTarLayer struct {
	v1.Layer
	dir string
}

func (l dirTarLayer) Compressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		err := archive.LayerTar(bw, l.dir)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
