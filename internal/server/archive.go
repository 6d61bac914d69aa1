package server

import "net/http"

// ArchiveBackend is what /containers/{id}/archive (docker cp) needs.
type ArchiveBackend interface{}

// archiveRoutes registers the archive routes when the container backend
// also implements ArchiveBackend.
func (s *Server) archiveRoutes(mux *http.ServeMux) {}
