package server

import (
	"net/http"

	"github.com/moby/moby/api/types/common"
)

// swarmRouter answers the swarm-mode endpoints as a dockerd that is not in
// a swarm does: 503 with dockerd's texts, which clients tolerate (docker-py
// and the docker CLI call /swarm/leave and /info-driven swarm probes on
// their way). pier has no swarm mode, so init and join are refused too.
type swarmRouter struct{}

// Exactly dockerd's texts (daemon/cluster/errors.go): clients match them.
const (
	errNoSwarm         = `This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`
	errNotInSwarm      = "This node is not part of a swarm"
	errSwarmNotHandled = "pier has no swarm mode: swarm init and join are not supported"
)

func (swarmRouter) routes() []route {
	manager := func(w http.ResponseWriter, _ *http.Request) error { return unavailable(w, errNoSwarm) }
	out := []route{
		{"POST /swarm/leave", func(w http.ResponseWriter, _ *http.Request) error { return unavailable(w, errNotInSwarm) }},
		{"POST /swarm/init", func(w http.ResponseWriter, _ *http.Request) error { return unavailable(w, errSwarmNotHandled) }},
		{"POST /swarm/join", func(w http.ResponseWriter, _ *http.Request) error { return unavailable(w, errSwarmNotHandled) }},
	}
	for _, p := range []string{
		"GET /swarm", "POST /swarm/update", "GET /swarm/unlockkey", "POST /swarm/unlock",
		"GET /nodes", "GET /nodes/{id}", "DELETE /nodes/{id}", "POST /nodes/{id}/update",
		"GET /services", "POST /services/create", "GET /services/{id}", "DELETE /services/{id}",
		"POST /services/{id}/update", "GET /services/{id}/logs",
		"GET /tasks", "GET /tasks/{id}", "GET /tasks/{id}/logs",
		"GET /secrets", "POST /secrets/create", "GET /secrets/{id}", "DELETE /secrets/{id}", "POST /secrets/{id}/update",
		"GET /configs", "POST /configs/create", "GET /configs/{id}", "DELETE /configs/{id}", "POST /configs/{id}/update",
	} {
		out = append(out, route{p, manager})
	}
	return out
}

func unavailable(w http.ResponseWriter, msg string) error {
	return writeJSON(w, http.StatusServiceUnavailable, common.ErrorResponse{Message: msg})
}
