package server

import (
	"net/http"

	"github.com/moby/moby/api/types/volume"
)

// volumeRouter serves /volumes/*.
type volumeRouter struct{ b VolumeBackend }

// pruneAllVersion is the API version from which prune without the "all"
// filter removes only anonymous volumes; older clients pruned them all.
const pruneAllVersion = "1.42"

func (vr volumeRouter) routes() []route {
	return []route{
		{"POST /volumes/create", vr.create},
		{"GET /volumes", vr.list},
		{"GET /volumes/{name}", vr.inspect},
		{"DELETE /volumes/{name}", vr.remove},
		{"POST /volumes/prune", vr.prune},
	}
}

func (vr volumeRouter) create(w http.ResponseWriter, r *http.Request) error {
	var req volume.CreateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	v, err := vr.b.VolumeCreate(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (vr volumeRouter) list(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	list, err := vr.b.VolumeList(r.Context(), filters)
	if err != nil {
		return err
	}
	// Docker sends [] rather than null for an empty list.
	if list.Volumes == nil {
		list.Volumes = []volume.Volume{}
	}
	return writeJSON(w, http.StatusOK, list)
}

func (vr volumeRouter) inspect(w http.ResponseWriter, r *http.Request) error {
	v, err := vr.b.VolumeInspect(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (vr volumeRouter) remove(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, vr.b.VolumeRemove(r.Context(), r.PathValue("name"), boolQuery(r, "force")))
}

func (vr volumeRouter) prune(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	if compareVersions(requestVersion(r), pruneAllVersion) < 0 {
		filters["all"] = []string{"true"}
	}
	report, err := vr.b.VolumePrune(r.Context(), filters)
	if err != nil {
		return err
	}
	if report.VolumesDeleted == nil {
		report.VolumesDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, report)
}
