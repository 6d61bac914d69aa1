package server

import "net/http"

// ExecBackend is what /containers/{id}/exec and /exec/* need from the engine; the container backend
// provides it when it implements it.
type ExecBackend interface{}

func (s *Server) execRoutes(mux *http.ServeMux) {}
