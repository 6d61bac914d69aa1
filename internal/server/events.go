package server

import "net/http"

// EventBackend is what /events, /system/df and /containers/prune need from the engine; the container backend
// provides it when it implements it.
type EventBackend interface{}

func (s *Server) eventRoutes(mux *http.ServeMux) {}
