package server

import (
	"net/http"
)

// ping answers GET and HEAD /_ping with the headers clients negotiate
// from; the version headers come from withVersion.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", "inactive")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		return
	}
	_, _ = w.Write([]byte("OK"))
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.Version(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v.APIVersion = MaxAPIVersion
	v.MinAPIVersion = MinAPIVersion
	for i := range v.Components {
		// The docker CLI prints the Engine's API versions from its details.
		if c := &v.Components[i]; c.Name == "Engine" {
			if c.Details == nil {
				c.Details = map[string]string{}
			}
			c.Details["ApiVersion"] = MaxAPIVersion
			c.Details["MinAPIVersion"] = MinAPIVersion
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) getInfo(w http.ResponseWriter, r *http.Request) {
	info, err := s.backend.Info(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}
