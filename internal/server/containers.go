package server

import "net/http"

// ContainerBackend is what /containers/* needs from the engine.
type ContainerBackend interface{}

func (s *Server) containerRoutes(mux *http.ServeMux) {}
