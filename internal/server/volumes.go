package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
)

// VolumeBackend is what /volumes/* needs from the engine. Filters arrive
// decoded from the API's JSON, key to values; the backend checks the keys
// and values and answers unknown ones with errdefs.ErrInvalidArgument.
type VolumeBackend interface {
	// VolumeCreate makes a volume, or returns the one of that name.
	VolumeCreate(ctx context.Context, req volume.CreateRequest) (volume.Volume, error)
	// VolumeList returns the volumes filters select.
	VolumeList(ctx context.Context, filters map[string][]string) (volume.ListResponse, error)
	// VolumeInspect returns one volume or errdefs.ErrNotFound.
	VolumeInspect(ctx context.Context, name string) (volume.Volume, error)
	// VolumeRemove deletes a volume; with force a missing one is no error.
	// A volume in use is errdefs.ErrConflict.
	VolumeRemove(ctx context.Context, name string, force bool) error
	// VolumePrune removes the unused volumes filters select.
	VolumePrune(ctx context.Context, filters map[string][]string) (volume.PruneReport, error)
}

// pruneAllVersion is the API version from which prune without the "all"
// filter removes only anonymous volumes; older clients pruned them all.
const pruneAllVersion = "1.42"

func (s *Server) volumeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /volumes/create", s.postVolumesCreate)
	mux.HandleFunc("GET /volumes", s.getVolumes)
	mux.HandleFunc("GET /volumes/{name}", s.getVolume)
	mux.HandleFunc("DELETE /volumes/{name}", s.deleteVolume)
	mux.HandleFunc("POST /volumes/prune", s.postVolumesPrune)
}

func (s *Server) postVolumesCreate(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateRequest
	if err := readJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.volumes.VolumeCreate(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) getVolumes(w http.ResponseWriter, r *http.Request) {
	filters, err := queryFilters(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.volumes.VolumeList(r.Context(), filters)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Docker sends [] rather than null for an empty list.
	if list.Volumes == nil {
		list.Volumes = []volume.Volume{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getVolume(w http.ResponseWriter, r *http.Request) {
	v, err := s.volumes.VolumeInspect(r.Context(), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteVolume(w http.ResponseWriter, r *http.Request) {
	if err := s.volumes.VolumeRemove(r.Context(), r.PathValue("name"), boolQuery(r, "force")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postVolumesPrune(w http.ResponseWriter, r *http.Request) {
	filters, err := queryFilters(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if compareVersions(requestVersion(r), pruneAllVersion) < 0 {
		filters["all"] = []string{"true"}
	}
	report, err := s.volumes.VolumePrune(r.Context(), filters)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if report.VolumesDeleted == nil {
		report.VolumesDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, report)
}

// requestVersion is the API version the client asked for. withVersion has
// already stripped it from the path, but RequestURI keeps what was sent.
func requestVersion(r *http.Request) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return MaxAPIVersion
	}
	v, _ := splitVersion(u.Path)
	return v
}

// readJSON decodes a request body as dockerd does: no body is an empty
// request, another content type or malformed JSON is a bad request, and
// unknown fields are ignored (newer clients send fields older daemons lack).
func readJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return &kindError{fmt.Sprintf("unsupported Content-Type header (%s): must be 'application/json'", ct),
			errdefs.ErrInvalidArgument}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); errors.Is(err, io.EOF) {
		if r.ContentLength > 0 {
			return &kindError{"invalid JSON: got EOF while reading request body", errdefs.ErrInvalidArgument}
		}
		return nil // chunked and empty
	} else if err != nil {
		return fmt.Errorf("invalid JSON: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	if dec.More() {
		return &kindError{"unexpected content after JSON", errdefs.ErrInvalidArgument}
	}
	return nil
}

// queryFilters decodes the "filters" query parameter. Clients send
// {"key": {"value": true}}; old ones sent {"key": ["value"]}, which dockerd
// still reads. Values come back sorted, so the result is deterministic.
func queryFilters(r *http.Request) (map[string][]string, error) {
	out := map[string][]string{}
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return out, nil
	}
	var sets map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &sets); err == nil {
		for k, set := range sets {
			for v := range set {
				out[k] = append(out[k], v)
			}
			slices.Sort(out[k])
		}
		return out, nil
	}
	var lists map[string][]string
	if err := json.Unmarshal([]byte(raw), &lists); err != nil {
		return nil, fmt.Errorf("invalid filter %q: %w", raw, errdefs.ErrInvalidArgument)
	}
	for k, vals := range lists {
		out[k] = slices.Sorted(slices.Values(vals))
	}
	return out, nil
}

// boolQuery reads a boolean query parameter as dockerd's BoolValue does:
// absent, "", "0", "no", "false" and "none" are false, anything else true.
func boolQuery(r *http.Request, key string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(key))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}
