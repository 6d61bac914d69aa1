package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
)

// jsonStream writes Docker's JSON message stream: one object per line,
// flushed as it is made. The status line goes out with the first message,
// so an error before any progress is an ordinary error response (a pull
// of an unknown image answers 404), and one after it is an error message
// in the stream. Safe for concurrent use: layers report in parallel.
type jsonStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu sync.Mutex
	// Guarded by mu.
	started bool
}

func newJSONStream(w http.ResponseWriter) *jsonStream {
	return &jsonStream{w: w, rc: http.NewResponseController(w)}
}

func (st *jsonStream) startLocked() {
	if !st.started {
		st.started = true
		st.w.Header().Set("Content-Type", "application/json")
		st.w.WriteHeader(http.StatusOK)
	}
}

// start sends the status line if no message has.
func (st *jsonStream) start() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.startLocked()
}

func (st *jsonStream) send(m any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.startLocked()
	// A write error is a client gone away; the handler's context says so.
	_ = json.NewEncoder(st.w).Encode(m)
	_ = st.rc.Flush()
}

// streamError is an error in the stream. Clients read errorDetail; those
// from before the moby module split also read the top-level "error".
type streamError struct {
	jsonstream.Message
	ErrorMessage string `json:"error,omitempty"`
}

// fail reports err: returned for the error response if nothing was sent
// yet, else as the stream's last message.
func (st *jsonStream) fail(err error) error {
	st.mu.Lock()
	started := st.started
	st.mu.Unlock()
	if !started {
		return err
	}
	st.send(streamError{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorMessage: err.Error()})
	return nil
}

// layerMessage renders one step of a layer in Docker's terms.
func layerMessage(p imagestore.Progress) jsonstream.Message {
	m := jsonstream.Message{Status: p.Status, ID: p.Layer}
	if p.Current > 0 || p.Total > 0 {
		m.Progress = &jsonstream.Progress{Current: p.Current, Total: p.Total}
	}
	return m
}

// parseImageRef parses a reference as the store will, so that a bad one
// is a 400 before anything is streamed.
func parseImageRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid reference format: %q: %s", ref, err)
	}
	return r, nil
}

// familiarRef is a reference as docker prints it: busybox:latest,
// 127.0.0.1:5000/app:v1.
func familiarRef(r name.Reference) string {
	repo := r.Context().RepositoryStr()
	if reg := r.Context().RegistryStr(); reg == name.DefaultRegistry || reg == "docker.io" {
		repo = strings.TrimPrefix(repo, "library/")
	} else {
		repo = reg + "/" + repo
	}
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr()
	}
	return repo + ":" + r.Identifier()
}

// createImage is POST /images/create: a pull (fromImage) or an import
// (fromSrc).
func (ir imageRouter) createImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if src := q.Get("fromSrc"); src != "" {
		return ir.importImage(w, r, src)
	}
	from := q.Get("fromImage")
	if from == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "fromImage or fromSrc is required")
	}
	ref := joinRef(from, q.Get("tag"))
	named, err := parseImageRef(ref)
	if err != nil {
		return err
	}
	st := newJSONStream(w)
	var (
		once  sync.Once
		mu    sync.Mutex
		fresh bool // a layer was fetched, not found in the store
	)
	ctx := r.Context()
	if p := q.Get("platform"); p != "" {
		ctx = imagestore.WithPlatform(ctx, p)
	}
	err = ir.b.ImagePull(ctx, ref, func(p imagestore.Progress) {
		once.Do(func() {
			st.send(jsonstream.Message{Status: "Pulling from " + named.Context().RepositoryStr(), ID: named.Identifier()})
		})
		if p.Layer != "" && p.Status != "Already exists" {
			mu.Lock()
			fresh = true
			mu.Unlock()
		}
		st.send(layerMessage(p))
	})
	if err != nil {
		return st.fail(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fresh {
		st.send(jsonstream.Message{Status: "Status: Downloaded newer image for " + familiarRef(named)})
	} else {
		st.send(jsonstream.Message{Status: "Status: Image is up to date for " + familiarRef(named)})
	}
	return nil
}

// importImage is docker import: fromSrc "-" reads the rootfs tar from the
// body; repo (with tag) names the image; each changes value is one
// Dockerfile instruction.
func (ir imageRouter) importImage(w http.ResponseWriter, r *http.Request, src string) error {
	if src != "-" {
		return errdefs.New(errdefs.ErrNotImplemented, "import from a URL is not supported: send the tar in the body with fromSrc=-")
	}
	q := r.URL.Query()
	ref := ""
	if repo := q.Get("repo"); repo != "" {
		ref = joinRef(repo, q.Get("tag"))
		if _, err := parseImageRef(ref); err != nil {
			return err
		}
	}
	id, err := ir.b.ImageImport(r.Context(), r.Body, ref, q["changes"])
	if err != nil {
		return err
	}
	newJSONStream(w).send(jsonstream.Message{Status: id})
	return nil
}

// pushImage is POST /images/{name}/push?tag=: Docker's push stream, then
// "<tag>: digest: <digest>" and the same in an aux message.
func (ir imageRouter) pushImage(w http.ResponseWriter, r *http.Request, repo string) error {
	ref := joinRef(repo, r.URL.Query().Get("tag"))
	named, err := parseImageRef(ref)
	if err != nil {
		return err
	}
	st := newJSONStream(w)
	var (
		once   sync.Once
		mu     sync.Mutex
		layers []string // in the order they were first seen
	)
	digest, err := ir.b.ImagePush(r.Context(), ref, func(p imagestore.Progress) {
		once.Do(func() {
			st.send(jsonstream.Message{Status: "The push refers to repository [" + named.Context().Name() + "]"})
		})
		if p.Layer == "" {
			return // the store's "Digest:" line; the summary below says it
		}
		mu.Lock()
		if !slices.Contains(layers, p.Layer) {
			layers = append(layers, p.Layer)
		}
		mu.Unlock()
		st.send(layerMessage(p))
	})
	if err != nil {
		return st.fail(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range layers {
		st.send(jsonstream.Message{Status: "Pushed", ID: l})
	}
	tag := named.Identifier()
	st.send(jsonstream.Message{Status: tag + ": digest: " + digest})
	aux, _ := json.Marshal(map[string]any{"Tag": tag, "Digest": digest})
	raw := json.RawMessage(aux)
	st.send(jsonstream.Message{Progress: &jsonstream.Progress{}, Aux: &raw})
	return nil
}
