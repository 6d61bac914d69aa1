package server

import (
	"net/http"

	"github.com/moby/moby/api/types/network"
)

// networkRouter serves /networks/*.
type networkRouter struct{ b NetworkBackend }

func (nr networkRouter) routes() []route {
	return []route{
		{"GET /networks", nr.list},
		{"GET /networks/{id}", nr.inspect},
		{"POST /networks/create", nr.create},
		{"DELETE /networks/{id}", nr.remove},
		{"POST /networks/{id}/connect", nr.connect},
		{"POST /networks/{id}/disconnect", nr.disconnect},
		{"POST /networks/prune", nr.prune},
	}
}

func (nr networkRouter) list(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	list, err := nr.b.NetworkList(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

func (nr networkRouter) inspect(w http.ResponseWriter, r *http.Request) error {
	n, err := nr.b.NetworkInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (nr networkRouter) create(w http.ResponseWriter, r *http.Request) error {
	var req createNetworkRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	create := nr.b.NetworkCreate
	// Before API 1.44 dockerd let a client ask for a second network of a
	// taken name; since then names are always checked. Omitted is checked
	// here too (dockerd 20.10 did not check then), so that a name stays a
	// usable reference unless the client explicitly asks otherwise.
	if req.CheckDuplicate != nil && !*req.CheckDuplicate && compareVersions(requestVersion(r), "1.44") < 0 {
		create = nr.b.NetworkCreateDuplicate
	}
	resp, err := create(r.Context(), req.CreateRequest)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, resp)
}

func (nr networkRouter) remove(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, nr.b.NetworkRemove(r.Context(), r.PathValue("id")))
}

func (nr networkRouter) connect(w http.ResponseWriter, r *http.Request) error {
	var req network.ConnectRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := nr.b.NetworkConnect(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (nr networkRouter) disconnect(w http.ResponseWriter, r *http.Request) error {
	var req network.DisconnectRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := nr.b.NetworkDisconnect(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (nr networkRouter) prune(w http.ResponseWriter, r *http.Request) error {
	filters, err := queryFilters(r)
	if err != nil {
		return err
	}
	report, err := nr.b.NetworkPrune(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report)
}

// createNetworkRequest is the create body with the field the moby types
// dropped: CheckDuplicate, honoured before API 1.44.
type createNetworkRequest struct {
	network.CreateRequest
	CheckDuplicate *bool `json:"CheckDuplicate,omitempty"`
}
