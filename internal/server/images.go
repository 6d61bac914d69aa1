package server

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/filter"
)

// imageRouter serves /images/*. Image names contain slashes
// (127.0.0.1:5000/team/app), so the per-image routes take the rest of the
// path and look at its last element, as dockerd's {name:.*} routes do.
type imageRouter struct{ b ImageBackend }

func (ir imageRouter) routes() []route {
	return []route{
		{"GET /images/json", ir.listImages},
		{"GET /images/get", ir.saveImages},
		{"POST /images/create", ir.createImage},
		{"POST /images/load", ir.loadImages},
		{"POST /images/prune", ir.pruneImages},
		{"GET /images/{rest...}", ir.getImage},
		{"GET /distribution/{rest...}", ir.getDistribution},
		{"POST /images/{rest...}", ir.postImage},
		{"DELETE /images/{rest...}", ir.removeImage},
	}
}

func (ir imageRouter) getImage(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	if rest == "search" {
		return errdefs.New(errdefs.ErrNotImplemented, "image search is not supported by pier: search the registry's own interface, or pull the image by name")
	}
	if name, ok := strings.CutSuffix(rest, "/json"); ok && name != "" {
		return ir.inspectImage(w, r, name)
	} else if name, ok := strings.CutSuffix(rest, "/history"); ok && name != "" {
		return ir.imageHistory(w, r, name)
	} else if name, ok := strings.CutSuffix(rest, "/get"); ok && name != "" {
		return ir.saveImage(w, r, []string{name})
	}
	return notFound(w, r)
}

func (ir imageRouter) postImage(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	if name, ok := strings.CutSuffix(rest, "/tag"); ok && name != "" {
		return ir.tagImage(w, r, name)
	} else if name, ok := strings.CutSuffix(rest, "/push"); ok && name != "" {
		return ir.pushImage(w, r, name)
	}
	return notFound(w, r)
}

func (ir imageRouter) listImages(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r, "dangling", "reference", "label", "before", "since", "until")
	if err != nil {
		return err
	}
	all, err := ir.b.ImageList(r.Context())
	if err != nil {
		return err
	}
	if err := resolveImageTimes(all, filters, time.Now()); err != nil {
		return err
	}
	out := make([]image.Summary, 0, len(all))
	hidden := intermediateImages(all, r.URL.Query().Get("all"))
	for _, img := range all {
		if hidden[img.ID] {
			continue
		}
		if ok, err := imageMatches(img, filters); err != nil {
			return err
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
	return writeJSON(w, http.StatusOK, out)
}

// intermediateImages are what docker images hides without --all: the
// untagged images a build step made that another image builds on.
func intermediateImages(all []image.Summary, allParam string) map[string]bool {
	if ok, _ := strconv.ParseBool(allParam); ok {
		return nil
	}
	parents := map[string]bool{}
	for _, img := range all {
		if img.ParentID != "" {
			parents[img.ParentID] = true
		}
	}
	hidden := map[string]bool{}
	for _, img := range all {
		if parents[img.ID] && len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
			hidden[img.ID] = true
		}
	}
	return hidden
}

// imageMatches applies docker images' filters: each key must match, any
// of a key's values may.
func imageMatches(img image.Summary, filters map[string][]string) (bool, error) {
	for key, values := range filters {
		ok, err := filter.AnyErr(values, func(v string) (bool, error) { return imageMatch(img, key, v) })
		if err != nil || !ok {
			return false, err
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
					return false, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid reference filter %q: %s", value, err)
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
	case "before", "until":
		// resolveImageTimes made the value Unix seconds.
		t, _ := strconv.ParseInt(value, 10, 64)
		return img.Created < t, nil
	case "since":
		t, _ := strconv.ParseInt(value, 10, 64)
		return img.Created > t, nil
	}
	return false, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid filter '%s'", key)
}

// imageBool reads a boolean query value the way dockerd does.
func imageBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid boolean value %q", v)
}

func (ir imageRouter) inspectImage(w http.ResponseWriter, r *http.Request, name string) error {
	img, err := ir.b.ImageInspect(r.Context(), name)
	if err != nil {
		return err
	}
	cfg := imageConfigFor(r, img)
	if compareVersions(requestVersion(r), "1.45") >= 0 {
		if cfg == nil {
			return writeJSON(w, http.StatusOK, img)
		}
		return writeJSON(w, http.StatusOK, imageInspectConfig{InspectResponse: img, Config: cfg})
	}
	ctr, ctrCfg, parent, err := ir.b.ImageLegacyInspect(r.Context(), img.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, legacyImageInspect{InspectResponse: img, Container: ctr, ContainerConfig: ctrCfg, Parent: parent, Config: cfg})
}

// legacyImageInspect is image inspect before API 1.45, when dockerd still
// sent the committing container's id and config (and "Parent" too; the
// moby types pier uses have dropped all three).
type legacyImageInspect struct {
	image.InspectResponse
	Parent          string
	Container       string
	ContainerConfig json.RawMessage
	Config          json.RawMessage `json:"Config,omitempty"` // imageConfigFor's
}

func (ir imageRouter) imageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	h, err := ir.b.ImageHistory(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
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

func (ir imageRouter) tagImage(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	repo := q.Get("repo")
	if repo == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "repository name is required")
	}
	if err := ir.b.ImageTag(r.Context(), name, joinRef(repo, q.Get("tag"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (ir imageRouter) removeImage(w http.ResponseWriter, r *http.Request) error {
	del, err := ir.b.ImageRemove(r.Context(), r.PathValue("rest"), boolQuery(r, "force"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, del)
}

func (ir imageRouter) pruneImages(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r, "dangling", "until", "label", "label!")
	if err != nil {
		return err
	}
	all := false
	for _, v := range filters["dangling"] {
		// dangling=false is prune -a: every unused image, not only untagged.
		d, err := imageBool(v)
		if err != nil {
			return err
		}
		all = all || !d
	}
	delete(filters, "dangling")
	rep, err := ir.b.ImagePrune(r.Context(), all, filters)
	if err != nil {
		return err
	}
	if rep.ImagesDeleted == nil {
		rep.ImagesDeleted = []image.DeleteResponse{}
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (ir imageRouter) saveImages(w http.ResponseWriter, r *http.Request) error {
	return ir.saveImage(w, r, r.URL.Query()["names"])
}

// saveImage streams the tar. The status line goes out with the first
// byte, so an error before it is an ordinary error response; one after it
// aborts the connection, so that the client sees an error, not a short
// tar it might load.
func (ir imageRouter) saveImage(w http.ResponseWriter, r *http.Request, names []string) error {
	lw := &lazyWriter{w: w, contentType: "application/x-tar"}
	err := ir.b.ImageSave(r.Context(), lw, names)
	if err == nil {
		lw.start()
		return nil
	}
	if lw.started {
		return abortResponse(err)
	}
	return err
}

// loadImages reads the whole archive before answering. A bad archive is,
// as in dockerd, an error inside a 200 stream (docker-py raises its
// ImageLoadError from that); an oversized body stays a 413.
func (ir imageRouter) loadImages(w http.ResponseWriter, r *http.Request) error {
	imgs, err := ir.b.ImageLoad(r.Context(), r.Body)
	st := newJSONStream(w)
	if err != nil {
		if StatusOf(err) == http.StatusRequestEntityTooLarge || r.Context().Err() != nil {
			return err
		}
		st.start()
		return st.fail(err)
	}
	for _, img := range imgs {
		if len(img.RepoTags) == 0 {
			st.send(jsonstream.Message{Stream: "Loaded image ID: " + img.ID + "\n"})
		}
		for _, t := range img.RepoTags {
			st.send(jsonstream.Message{Stream: "Loaded image: " + t + "\n"})
		}
	}
	st.start()
	return nil
}

// getDistribution is GET /distribution/{name}/json: the registry's
// descriptor and platforms of name, without pulling it.
func (ir imageRouter) getDistribution(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("rest"), "/json")
	if !ok || name == "" {
		return notFound(w, r)
	}
	d, err := ir.b.DistributionInspect(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// resolveImageTimes turns the before and since filters (an image: id, short
// id or name) and until (a time, as dockerd reads it) into Unix seconds
// for imageMatch; an unknown image is dockerd's 404.
func resolveImageTimes(all []image.Summary, filters map[string][]string, now time.Time) error {
	for _, key := range []string{"before", "since"} {
		for i, ref := range filters[key] {
			j := slices.IndexFunc(all, func(img image.Summary) bool {
				id := strings.TrimPrefix(img.ID, "sha256:")
				return img.ID == ref || (len(ref) >= 4 && strings.HasPrefix(id, strings.TrimPrefix(ref, "sha256:"))) ||
					slices.Contains(img.RepoTags, ref) || slices.Contains(img.RepoTags, ref+":latest")
			})
			if j < 0 {
				return errdefs.Newf(errdefs.ErrNotFound, "No such image: %s", ref)
			}
			filters[key][i] = strconv.FormatInt(all[j].Created, 10)
		}
	}
	for i, v := range filters["until"] {
		t, err := filterTime(v, now)
		if err != nil {
			return err
		}
		filters["until"][i] = strconv.FormatInt(t.Unix(), 10)
	}
	return nil
}
