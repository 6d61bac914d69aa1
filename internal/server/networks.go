package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/network"

	"github.com/pier-engine/pier/internal/errdefs"
)

// NetworkBackend is what /networks/* needs from the engine; the container
// backend provides it when it implements it.
type NetworkBackend interface {
	// NetworkList returns the networks filters select.
	NetworkList(ctx context.Context, filters map[string][]string) ([]network.Summary, error)
	// NetworkInspect finds a network by id, name or id prefix.
	NetworkInspect(ctx context.Context, ref string) (network.Inspect, error)
	// NetworkCreate makes a network; a taken name is errdefs.ErrConflict.
	NetworkCreate(ctx context.Context, req network.CreateRequest) (network.CreateResponse, error)
	// NetworkRemove deletes a network no running container uses.
	NetworkRemove(ctx context.Context, ref string) error
	// NetworkConnect and NetworkDisconnect attach and detach a container.
	NetworkConnect(ctx context.Context, ref string, req network.ConnectRequest) error
	NetworkDisconnect(ctx context.Context, ref string, req network.DisconnectRequest) error
	// NetworkPrune removes the unused user networks.
	NetworkPrune(ctx context.Context, filters map[string][]string) (network.PruneReport, error)
}

// networkRoutes registers /networks/* when the container backend also
// implements NetworkBackend.
func (s *Server) networkRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(NetworkBackend)
	if !ok {
		return
	}
	mux.HandleFunc("GET /networks", func(w http.ResponseWriter, r *http.Request) {
		filters, err := queryFilters(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		list, err := b.NetworkList(r.Context(), filters)
		s.networkReply(w, r, http.StatusOK, list, err)
	})
	mux.HandleFunc("GET /networks/{id}", func(w http.ResponseWriter, r *http.Request) {
		n, err := b.NetworkInspect(r.Context(), r.PathValue("id"))
		s.networkReply(w, r, http.StatusOK, n, err)
	})
	mux.HandleFunc("POST /networks/create", func(w http.ResponseWriter, r *http.Request) {
		var req network.CreateRequest
		if !s.decodeNetworkBody(w, r, &req) {
			return
		}
		resp, err := b.NetworkCreate(r.Context(), req)
		s.networkReply(w, r, http.StatusCreated, resp, err)
	})
	mux.HandleFunc("DELETE /networks/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := b.NetworkRemove(r.Context(), r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /networks/{id}/connect", func(w http.ResponseWriter, r *http.Request) {
		var req network.ConnectRequest
		if !s.decodeNetworkBody(w, r, &req) {
			return
		}
		s.networkReply(w, r, http.StatusOK, nil, b.NetworkConnect(r.Context(), r.PathValue("id"), req))
	})
	mux.HandleFunc("POST /networks/{id}/disconnect", func(w http.ResponseWriter, r *http.Request) {
		var req network.DisconnectRequest
		if !s.decodeNetworkBody(w, r, &req) {
			return
		}
		s.networkReply(w, r, http.StatusOK, nil, b.NetworkDisconnect(r.Context(), r.PathValue("id"), req))
	})
	mux.HandleFunc("POST /networks/prune", func(w http.ResponseWriter, r *http.Request) {
		filters, err := queryFilters(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		report, err := b.NetworkPrune(r.Context(), filters)
		s.networkReply(w, r, http.StatusOK, report, err)
	})
}

// decodeNetworkBody reads a JSON request body into v, answering 400 when it is
// malformed.
func (s *Server) decodeNetworkBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		s.writeError(w, r, &kindError{"invalid JSON body: " + err.Error(), errdefs.ErrInvalidArgument})
		return false
	}
	return true
}

// networkReply writes v with status, or err; a nil v is an empty body.
func (s *Server) networkReply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if v == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}
