package image

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pier-engine/pier/internal/errdefs"
)

// published pushes a two-layer fixture to a registry behind wrap and
// returns the reference and the image as pushed.
func published(t *testing.T, wrap func(http.Handler) http.Handler) (string, *Image) {
	t.Helper()
	host := serve(t, wrap)
	src := newStore(t)
	ref := host + "/pier/bad:v1"
	img := fixture(t, src, ref, twoLayers(t)...)
	if _, err := src.Push(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	return ref, img
}

// onBlob wraps a registry so that GETs of one blob go to fn once armed.
type onBlob struct {
	digest string
	fn     func(w http.ResponseWriter, r *http.Request, body []byte)
}

func (o *onBlob) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.digest == "" || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+o.digest) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		o.fn(w, r, rec.Body.Bytes())
	})
}

func TestPullBadBlobs(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
		"digest mismatch": func(w http.ResponseWriter, _ *http.Request, body []byte) {
			body[len(body)/2] ^= 0xff
			w.Write(body)
		},
		"truncated blob": func(w http.ResponseWriter, _ *http.Request, body []byte) {
			w.Write(body[:len(body)/2])
		},
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			o := &onBlob{fn: fn}
			ref, img := published(t, o.wrap)
			o.digest = img.Layers[1].Digest.String()
			s := newStore(t)
			before := state(t, s)
			_, err := s.Pull(context.Background(), ref, nil)
			if err == nil || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), o.digest) {
				t.Fatalf("error does not name image and layer: %v", err)
			}
			t.Log(err)
			if after := state(t, s); after != before {
				t.Errorf("store changed: %s -> %s", before, after)
			}
			if s.blobs.has(img.Layers[1].Digest) {
				t.Error("bad blob stored")
			}
		})
	}
}

func TestPullRegistryErrors(t *testing.T) {
	for code, kind := range map[int]string{500: "500", 401: "401"} {
		t.Run(kind, func(t *testing.T) {
			host := serve(t, func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if code == 401 {
						w.Header().Set("WWW-Authenticate", `Basic realm="pier"`)
					}
					w.WriteHeader(code)
				})
			})
			s := newStore(t)
			before := state(t, s)
			ref := host + "/pier/app:v1"
			_, err := s.Pull(context.Background(), ref, nil)
			if err == nil || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), kind) {
				t.Fatalf("error: %v", err)
			}
			if after := state(t, s); after != before {
				t.Errorf("store changed")
			}
		})
	}
}

func TestPullUnknownLayerMediaType(t *testing.T) {
	ref, img := published(t, nil)
	// Re-publish the manifest with a layer media type nobody knows.
	raw, err := crane(t, ref)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["layers"].([]any)[1].(map[string]any)["mediaType"] = "application/x-pier-unknown"
	bad, _ := json.Marshal(m)
	r, _ := name.ParseReference(ref)
	if err := remote.Put(r, rawManifest{bad}); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	_, err = s.Pull(context.Background(), ref, nil)
	if !errors.Is(err, errdefs.ErrNotImplemented) || !strings.Contains(err.Error(), img.Layers[1].Digest.String()) {
		t.Fatalf("error: %v", err)
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Error("image stored")
	}
}

type rawManifest struct{ b []byte }

func (r rawManifest) RawManifest() ([]byte, error) { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) {
	return "application/vnd.docker.distribution.manifest.v2+json", nil
}

func crane(t *testing.T, ref string) ([]byte, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	d, err := remote.Get(r)
	if err != nil {
		return nil, err
	}
	return d.Manifest, nil
}

func TestPullNoManifestForPlatform(t *testing.T) {
	ref, _ := published(t, nil)
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	multi := strings.Replace(ref, ":v1", ":multi", 1)
	mr, _ := name.ParseReference(multi)
	if err := remote.WriteIndex(mr, idx); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	_, err = s.Pull(context.Background(), multi, nil)
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "linux/amd64") || !strings.Contains(err.Error(), multi) {
		t.Fatalf("error: %v", err)
	}
	// The platform that exists is pulled, and its repo digest is the index's.
	s2, err := New(Config{Root: t.TempDir(), Platform: "linux/arm64", Unprivileged: s.cfg.Unprivileged})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Pull(context.Background(), multi, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if len(got.RepoDigests) != 1 || !strings.HasSuffix(got.RepoDigests[0], d.String()) {
		t.Errorf("repo digests %v, want the index digest %s", got.RepoDigests, d)
	}
}

// TestPullInterrupted cancels a pull while its second layer downloads:
// no image appears, and the next pull reuses the first layer.
func TestPullInterrupted(t *testing.T) {
	started := make(chan struct{})
	o := &onBlob{}
	o.fn = func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		close(started)
		select { // until the client goes away
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	ref, img := published(t, o.wrap)
	o.digest = img.Layers[1].Digest.String()
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := s.Pull(ctx, ref, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull: %v", err)
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Fatal("an interrupted pull left an image")
	}
	if !s.blobs.has(img.Layers[0].Digest) || s.blobs.has(img.Layers[1].Digest) {
		t.Fatal("completed layer not kept, or partial layer kept")
	}
	o.digest = ""
	// A restart cleans the half-written blob.
	s, err := New(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	got, err := s.Pull(context.Background(), ref, func(p Progress) { statuses = append(statuses, p.Layer+" "+p.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID {
		t.Errorf("id %s want %s", got.ID, img.ID)
	}
	if want := shortID(img.Layers[0].Digest) + " Already exists"; statuses[0] != want {
		t.Errorf("progress %v, want first %q", statuses, want)
	}
}
