package server

import "net/http"

// StatsBackend is what /containers/{id}/stats and /update need from the
// engine; the container backend provides it when it implements it.
type StatsBackend interface{}

func (s *Server) statsRoutes(mux *http.ServeMux) {}
