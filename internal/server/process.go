package server

import "net/http"

// ProcessBackend is what pause, unpause, top, rename, restart and pier ns's data need from the engine; the container backend
// provides it when it implements it.
type ProcessBackend interface{}

func (s *Server) processRoutes(mux *http.ServeMux) {}
