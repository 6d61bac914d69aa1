package server

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/container"
)

// getContainerStats streams a stats snapshot a second as JSON lines, or
// sends one with stream=false or one-shot.
func (cr *containerRouter) getContainerStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	// dockerd: stream defaults to true when absent; both are BoolValues.
	stream := (!q.Has("stream") || boolValue(q.Get("stream"))) && !boolValue(q.Get("one-shot"))
	started := false
	return cr.b.ContainerStats(r.Context(), r.PathValue("id"), stream, func(st container.StatsResponse) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := json.NewEncoder(w).Encode(st); err != nil {
			return err
		}
		return httpFlush(w)()
	})
}

func (cr *containerRouter) postContainerUpdate(w http.ResponseWriter, r *http.Request) error {
	var u container.UpdateConfig
	if err := readJSON(r, &u); err != nil {
		return err
	}
	resp, err := cr.b.ContainerUpdate(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}
