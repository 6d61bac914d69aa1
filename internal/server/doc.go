// Package server is pier's Docker Engine API edge: an http.Handler that
// speaks the API over pierd's sockets, with dockerd's version
// negotiation.
//
// It is a set of routers, one per resource (system, containers, exec,
// images, auth, networks, volumes, events; the builder's comes next),
// each built with the small backend interface it needs (backend.go).
// internal/daemon implements them; cmd/pierd hands the daemon to each
// Config field, so the compiler checks every route's wiring, and a nil
// field leaves its routes out.
//
// A handler returns its error. One adapter (Server.handle) writes it as
// Docker's {"message": ...} body, with the status StatusOf gives its
// errdefs kind: the one place a kind becomes an HTTP status. Streams
// (logs, attach, exec) share one stdcopy writer (stdcopy.go), and since
// and until one timestamp parser. Wire structures are moby's API types.
package server
