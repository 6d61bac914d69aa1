package server

import "net/http"

// ImageBackend is what /images/* needs from the engine.
type ImageBackend interface{}

func (s *Server) imageRoutes(mux *http.ServeMux) {}
