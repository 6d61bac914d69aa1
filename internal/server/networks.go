package server

import "net/http"

// NetworkBackend is what /networks/* needs from the engine.
type NetworkBackend interface{}

// networkRoutes registers /networks/* when the container backend also
// implements NetworkBackend.
func (s *Server) networkRoutes(mux *http.ServeMux) {}
