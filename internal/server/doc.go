// Package server is pier's Docker Engine API edge: an http.Handler that
// speaks the API over pierd's Unix socket, with dockerd's version
// negotiation, and the one place where an error's kind (internal/errdefs)
// becomes an HTTP status.
//
// The handler knows nothing of containers or hosts; it calls a Backend,
// which internal/daemon implements. Wire structures are moby's API types.
package server
