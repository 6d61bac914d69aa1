package server

import "net/http"

// VolumeBackend is what /volumes/* needs from the engine.
type VolumeBackend interface{}

func (s *Server) volumeRoutes(mux *http.ServeMux) {}
