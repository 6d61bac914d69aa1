package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
)

// ImageBackend is what /images/* needs from the engine. References are
// as users type them ("busybox", "127.0.0.1:5000/app:v1") or image ids
// and id prefixes; errors carry errdefs kinds. Pull and push report
// progress in the store's terms, which the server renders as Docker's
// JSON progress stream.
type ImageBackend interface {
	ImageList(ctx context.Context) ([]image.Summary, error)
	ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error)
	ImageHistory(ctx context.Context, ref string) ([]image.HistoryResponseItem, error)
	ImageTag(ctx context.Context, source, ref string) error
	ImageRemove(ctx context.Context, ref string, force bool) ([]image.DeleteResponse, error)
	// ImagePrune removes dangling images, or with all every unused one.
	ImagePrune(ctx context.Context, all bool) (image.PruneReport, error)
	ImagePull(ctx context.Context, ref string, progress imagestore.ProgressFunc) error
	// ImagePush returns the manifest digest the registry now serves.
	ImagePush(ctx context.Context, ref string, progress imagestore.ProgressFunc) (string, error)
	// ImageSave fails before writing to w when a ref is unknown.
	ImageSave(ctx context.Context, w io.Writer, refs []string) error
	ImageLoad(ctx context.Context, r io.Reader) ([]image.Summary, error)
	// ImageImport returns the new image's id; ref may be "".
	ImageImport(ctx context.Context, r io.Reader, ref string, changes []string) (string, error)
}

// imageRoutes serves /images/*. Image names contain slashes
// (127.0.0.1:5000/team/app), so the per-image routes take the rest of the
// path and look at its last element, as dockerd's {name:.*} routes do.
func (s *Server) imageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /images/json", s.listImages)
	mux.HandleFunc("GET /images/get", s.saveImages)
	mux.HandleFunc("POST /images/create", s.createImage)
	mux.HandleFunc("POST /images/load", s.loadImages)
	mux.HandleFunc("POST /images/prune", s.pruneImages)
	mux.HandleFunc("GET /images/{rest...}", s.getImage)
	mux.HandleFunc("POST /images/{rest...}", s.postImage)
	mux.HandleFunc("DELETE /images/{rest...}", s.removeImage)
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	if name, ok := strings.CutSuffix(rest, "/json"); ok && name != "" {
		s.inspectImage(w, r, name)
	} else if name, ok := strings.CutSuffix(rest, "/history"); ok && name != "" {
		s.imageHistory(w, r, name)
	} else if name, ok := strings.CutSuffix(rest, "/get"); ok && name != "" {
		s.saveImage(w, r, []string{name})
	} else {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
	}
}

func (s *Server) postImage(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	if name, ok := strings.CutSuffix(rest, "/tag"); ok && name != "" {
		s.tagImage(w, r, name)
	} else if name, ok := strings.CutSuffix(rest, "/push"); ok && name != "" {
		s.pushImage(w, r, name)
	} else {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
	}
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	filters, err := imageFilters(r, "dangling", "reference", "label")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	all, err := s.images.ImageList(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]image.Summary, 0, len(all))
	for _, img := range all {
		if ok, err := imageMatches(img, filters); err != nil {
			s.writeError(w, r, err)
			return
		} else if ok {
			out = append(out, img)
		}
	}
	// Newest first, as dockerd lists them.
	slices.SortStableFunc(out, func(a, b image.Summary) int {
		if a.Created != b.Created {
			return int(b.Created - a.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	writeJSON(w, http.StatusOK, out)
}

// imageFilters reads the filters query parameter: {"key":{"value":true}}
// as clients send it since API 1.22, or the older {"key":["value"]}.
// Keys outside allowed are refused, as dockerd refuses them.
func imageFilters(r *http.Request, allowed ...string) (map[string][]string, error) {
	out := map[string][]string{}
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return out, nil
	}
	var sets map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &sets); err == nil {
		for k, vs := range sets {
			for v := range vs {
				out[k] = append(out[k], v)
			}
		}
	} else if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, &kindError{fmt.Sprintf("invalid filters %q: %s", raw, err), errdefs.ErrInvalidArgument}
	}
	for k := range out {
		if !slices.Contains(allowed, k) {
			return nil, &kindError{fmt.Sprintf("invalid filter '%s'", k), errdefs.ErrInvalidArgument}
		}
	}
	return out, nil
}

// imageMatches applies docker images' filters: each key must match, any
// of a key's values may.
func imageMatches(img image.Summary, filters map[string][]string) (bool, error) {
	for key, values := range filters {
		ok := false
		for _, v := range values {
			m, err := imageMatch(img, key, v)
			if err != nil {
				return false, err
			}
			ok = ok || m
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func imageMatch(img image.Summary, key, value string) (bool, error) {
	switch key {
	case "dangling":
		want, err := imageBool(value)
		if err != nil {
			return false, err
		}
		return (len(img.RepoTags) == 0) == want, nil
	case "reference":
		// A pattern matches a name with its tag or the name alone.
		for _, tag := range img.RepoTags {
			repo := tag
			if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
				repo = tag[:i]
			}
			for _, cand := range []string{tag, repo} {
				m, err := path.Match(value, cand)
				if err != nil {
					return false, &kindError{fmt.Sprintf("invalid reference filter %q: %s", value, err), errdefs.ErrInvalidArgument}
				}
				if m {
					return true, nil
				}
			}
		}
		return false, nil
	case "label":
		k, v, hasValue := strings.Cut(value, "=")
		got, ok := img.Labels[k]
		return ok && (!hasValue || got == v), nil
	}
	return false, &kindError{fmt.Sprintf("invalid filter '%s'", key), errdefs.ErrInvalidArgument}
}

// imageBool reads a boolean query value the way dockerd does.
func imageBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, &kindError{fmt.Sprintf("invalid boolean value %q", v), errdefs.ErrInvalidArgument}
}

func (s *Server) inspectImage(w http.ResponseWriter, r *http.Request, name string) {
	img, err := s.images.ImageInspect(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, img)
}

func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, name string) {
	h, err := s.images.ImageHistory(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// joinRef puts a repository and a tag or digest from a query together.
func joinRef(repo, tag string) string {
	switch {
	case tag == "":
		return repo
	case strings.Contains(tag, ":"): // sha256:...
		return repo + "@" + tag
	}
	return repo + ":" + tag
}

func (s *Server) tagImage(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	repo := q.Get("repo")
	if repo == "" {
		s.writeError(w, r, &kindError{"repository name is required", errdefs.ErrInvalidArgument})
		return
	}
	if err := s.images.ImageTag(r.Context(), name, joinRef(repo, q.Get("tag"))); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) {
	force, err := imageBool(r.URL.Query().Get("force"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	del, err := s.images.ImageRemove(r.Context(), r.PathValue("rest"), force)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, del)
}

func (s *Server) pruneImages(w http.ResponseWriter, r *http.Request) {
	filters, err := imageFilters(r, "dangling")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	all := false
	for _, v := range filters["dangling"] {
		// dangling=false is prune -a: every unused image, not only untagged.
		d, err := imageBool(v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		all = all || !d
	}
	rep, err := s.images.ImagePrune(r.Context(), all)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if rep.ImagesDeleted == nil {
		rep.ImagesDeleted = []image.DeleteResponse{}
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) saveImages(w http.ResponseWriter, r *http.Request) {
	s.saveImage(w, r, r.URL.Query()["names"])
}

// saveImage streams the tar. The status line goes out with the first
// byte, so an error before it is an ordinary error response and one after
// it can only cut the connection, which the client sees as a short tar.
func (s *Server) saveImage(w http.ResponseWriter, r *http.Request, names []string) {
	lw := &lazyWriter{w: w, contentType: "application/x-tar"}
	err := s.images.ImageSave(r.Context(), lw, names)
	if err == nil {
		lw.start()
		return
	}
	if !lw.started {
		s.writeError(w, r, err)
		return
	}
	s.log.Error("request", "method", r.Method, "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

// lazyWriter sends the status line and Content-Type with the first write.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) start() {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", l.contentType)
		l.w.WriteHeader(http.StatusOK)
	}
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.start()
	return l.w.Write(p)
}

// loadImages reads the whole archive before answering, so every error is
// an ordinary error response.
func (s *Server) loadImages(w http.ResponseWriter, r *http.Request) {
	imgs, err := s.images.ImageLoad(r.Context(), r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st := newJSONStream(w)
	for _, img := range imgs {
		if len(img.RepoTags) == 0 {
			st.send(jsonstream.Message{Stream: "Loaded image ID: " + img.ID + "\n"})
		}
		for _, t := range img.RepoTags {
			st.send(jsonstream.Message{Stream: "Loaded image: " + t + "\n"})
		}
	}
	st.start()
}
