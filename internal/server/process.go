package server

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Namespace is one entry of pier's GET /containers/{id}/ns, a pier
// extension of the Docker API: a namespace of the container's init.
type Namespace struct {
	Type  string `json:"type"`  // "mnt", "net", ...
	Inode uint64 `json:"inode"` // the namespace's identity
	Path  string `json:"path"`  // /proc/PID/ns/TYPE on the daemon's host
	// Shared says the daemon (the host) is in the same namespace.
	Shared bool `json:"shared"`
}

func (cr *containerRouter) postContainerPause(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, cr.b.ContainerPause(r.Context(), r.PathValue("id")))
}

func (cr *containerRouter) postContainerUnpause(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, cr.b.ContainerUnpause(r.Context(), r.PathValue("id")))
}

func (cr *containerRouter) postContainerRename(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, cr.b.ContainerRename(r.Context(), r.PathValue("id"), r.URL.Query().Get("name")))
}

func (cr *containerRouter) postContainerRestart(w http.ResponseWriter, r *http.Request) error {
	timeout, err := timeoutQuery(r)
	if err != nil {
		return err
	}
	return noContent(w, cr.b.ContainerRestart(r.Context(), r.PathValue("id"), timeout))
}

// noContent answers 204 for a verb that succeeded.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (cr *containerRouter) getContainerTop(w http.ResponseWriter, r *http.Request) error {
	resp, err := cr.b.ContainerTop(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

// getContainerNamespaces is pier's GET /containers/{id}/ns.
func (cr *containerRouter) getContainerNamespaces(w http.ResponseWriter, r *http.Request) error {
	pid, links, err := cr.b.ContainerNamespaces(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, namespaces(pid, links))
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
