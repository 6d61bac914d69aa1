package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// ProcessBackend is what pause, unpause, top, rename, restart and pier ns's data need from the engine; the container backend
// provides it when it implements it. A container that does not run (or,
// for unpause, is not paused) is errdefs.ErrConflict.
type ProcessBackend interface {
	// ContainerPause freezes the container; ContainerUnpause thaws it.
	ContainerPause(ctx context.Context, ref string) error
	ContainerUnpause(ctx context.Context, ref string) error
	// ContainerTop lists its processes, as `ps psArgs` would ("" for
	// the default columns).
	ContainerTop(ctx context.Context, ref, psArgs string) (container.TopResponse, error)
	// ContainerRename names it newName; a taken name is errdefs.ErrConflict.
	ContainerRename(ctx context.Context, ref, newName string) error
	// ContainerRestart stops it (timeout as for stop) and starts it.
	ContainerRestart(ctx context.Context, ref string, timeout *int) error
	// ContainerNamespaces returns its init's host pid and the links of
	// /proc/PID/ns by type ("mnt" -> "mnt:[4026532177]").
	ContainerNamespaces(ctx context.Context, ref string) (int, map[string]string, error)
}

// Namespace is one entry of pier's GET /containers/{id}/ns, a pier
// extension of the Docker API: a namespace of the container's init.
type Namespace struct {
	Type  string `json:"type"`  // "mnt", "net", ...
	Inode uint64 `json:"inode"` // the namespace's identity
	Path  string `json:"path"`  // /proc/PID/ns/TYPE on the daemon's host
	// Shared says the daemon (the host) is in the same namespace.
	Shared bool `json:"shared"`
}

func (s *Server) processRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(ProcessBackend)
	if !ok {
		return
	}
	simple := func(op func(ctx context.Context, ref string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := op(r.Context(), r.PathValue("id")); err != nil {
				s.writeError(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /containers/{id}/pause", simple(b.ContainerPause))
	mux.HandleFunc("POST /containers/{id}/unpause", simple(b.ContainerUnpause))
	mux.HandleFunc("POST /containers/{id}/rename", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		simple(func(ctx context.Context, ref string) error { return b.ContainerRename(ctx, ref, name) })(w, r)
	})
	mux.HandleFunc("POST /containers/{id}/restart", func(w http.ResponseWriter, r *http.Request) {
		var timeout *int
		if t := r.URL.Query().Get("t"); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil {
				s.writeError(w, r, &kindError{"invalid value for t: " + t, errdefs.ErrInvalidArgument})
				return
			}
			timeout = &n
		}
		simple(func(ctx context.Context, ref string) error { return b.ContainerRestart(ctx, ref, timeout) })(w, r)
	})
	mux.HandleFunc("GET /containers/{id}/top", func(w http.ResponseWriter, r *http.Request) {
		resp, err := b.ContainerTop(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("GET /containers/{id}/ns", func(w http.ResponseWriter, r *http.Request) {
		pid, links, err := b.ContainerNamespaces(r.Context(), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, namespaces(pid, links))
	})
}

// namespaces turns /proc/PID/ns links into the ns answer, sorted by type;
// a namespace is shared when the daemon's own link is the same.
func namespaces(pid int, links map[string]string) []Namespace {
	out := []Namespace{}
	for t, l := range links {
		n := Namespace{Type: t, Path: filepath.Join("/proc", strconv.Itoa(pid), "ns", t)}
		if _, rest, ok := strings.Cut(l, ":["); ok {
			n.Inode, _ = strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
		}
		if own, err := os.Readlink("/proc/self/ns/" + t); err == nil && own == l {
			n.Shared = true
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Namespace) int { return strings.Compare(a.Type, b.Type) })
	return out
}
