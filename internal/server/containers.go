package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
)

// ContainerBackend is what /containers/* needs from the engine. A
// container is named by full id, unique id prefix or name (with or
// without the leading "/"); an unknown one is errdefs.ErrNotFound.
type ContainerBackend interface {
	// ContainerCreate makes a container called name ("" for a made-up one).
	ContainerCreate(ctx context.Context, name string, req container.CreateRequest) (container.CreateResponse, error)
	// ContainerStart starts it; errdefs.ErrAlreadyExists if it runs.
	ContainerStart(ctx context.Context, ref string) error
	// ContainerWait blocks until condition holds and returns the exit code.
	ContainerWait(ctx context.Context, ref string, condition container.WaitCondition) (container.WaitResponse, error)
	// ContainerKill sends sig ("" for SIGKILL).
	ContainerKill(ctx context.Context, ref, sig string) error
	// ContainerStop stops it, SIGKILL after timeout seconds (nil: the
	// container's own); errdefs.ErrNotRunning if it does not run.
	ContainerStop(ctx context.Context, ref string, timeout *int) error
	// ContainerRemove deletes it; force kills a running one first.
	ContainerRemove(ctx context.Context, ref string, force bool) error
	ContainerInspect(ctx context.Context, ref string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, all bool, filters map[string][]string) ([]container.Summary, error)
	// ContainerLogs calls fn for each entry opts selects (the backend sets
	// opts.Done); with Follow it returns once the container has ended.
	ContainerLogs(ctx context.Context, ref string, opts logfile.ReadOptions, fn func(logfile.Entry) error) error
	// ContainerAttach calls fn for what the container writes from now
	// until its next end.
	ContainerAttach(ctx context.Context, ref string, fn func(logfile.Entry) error) error
}

func (s *Server) containerRoutes(mux *http.ServeMux) {
	// Groups whose backends are optional: each registers its routes only
	// when the container backend also implements its interface.
	s.execRoutes(mux)
	s.processRoutes(mux)
	s.eventRoutes(mux)
	s.statsRoutes(mux)
	s.archiveRoutes(mux)
	s.attachRoutes(mux)
	s.networkRoutes(mux)
	mux.HandleFunc("POST /containers/create", s.postContainersCreate)
	mux.HandleFunc("POST /containers/{id}/start", s.postContainerStart)
	mux.HandleFunc("POST /containers/{id}/wait", s.postContainerWait)
	mux.HandleFunc("POST /containers/{id}/kill", s.postContainerKill)
	mux.HandleFunc("POST /containers/{id}/stop", s.postContainerStop)
	mux.HandleFunc("DELETE /containers/{id}", s.deleteContainer)
	mux.HandleFunc("GET /containers/{id}/json", s.getContainer)
	mux.HandleFunc("GET /containers/json", s.getContainers)
	mux.HandleFunc("GET /containers/{id}/logs", s.getContainerLogs)
	mux.HandleFunc("POST /containers/{id}/attach", s.postContainerAttach)
}

func (s *Server) postContainersCreate(w http.ResponseWriter, r *http.Request) {
	var req container.CreateRequest
	if err := readJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.containers.ContainerCreate(r.Context(), r.URL.Query().Get("name"), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if resp.Warnings == nil {
		resp.Warnings = []string{}
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) postContainerStart(w http.ResponseWriter, r *http.Request) {
	err := s.containers.ContainerStart(r.Context(), r.PathValue("id"))
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postContainerWait(w http.ResponseWriter, r *http.Request) {
	cond := container.WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "":
		cond = container.WaitConditionNotRunning
	case container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		s.writeError(w, r, &kindError{"invalid condition: " + string(cond), errdefs.ErrInvalidArgument})
		return
	}
	ref := r.PathValue("id")
	// The lookup's error comes before the status line, as dockerd's does.
	if _, err := s.containers.ContainerInspect(r.Context(), ref); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Send the headers now: the client starts the container once it
	// knows the wait is in place.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	resp, err := s.containers.ContainerWait(r.Context(), ref, cond)
	if err != nil {
		resp = container.WaitResponse{StatusCode: -1, Error: &container.WaitExitError{Message: err.Error()}}
	}
	writeJSONBody(w, resp)
}

func (s *Server) postContainerKill(w http.ResponseWriter, r *http.Request) {
	if err := s.containers.ContainerKill(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postContainerStop(w http.ResponseWriter, r *http.Request) {
	var timeout *int
	if t := r.URL.Query().Get("t"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			s.writeError(w, r, &kindError{"invalid value for t: " + t, errdefs.ErrInvalidArgument})
			return
		}
		timeout = &n
	}
	err := s.containers.ContainerStop(r.Context(), r.PathValue("id"), timeout)
	if errors.Is(err, errdefs.ErrNotRunning) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteContainer(w http.ResponseWriter, r *http.Request) {
	if err := s.containers.ContainerRemove(r.Context(), r.PathValue("id"), boolQuery(r, "force")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getContainer(w http.ResponseWriter, r *http.Request) {
	c, err := s.containers.ContainerInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withProcessInfo(r.Context(), c.ID, c))
}

func (s *Server) getContainers(w http.ResponseWriter, r *http.Request) {
	filters, err := queryFilters(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.containers.ContainerList(r.Context(), boolQuery(r, "all"), filters)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []container.Summary{}
	}
	writeJSON(w, http.StatusOK, list)
}
