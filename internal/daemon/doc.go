// Package daemon is pier's engine: the objects users manage through the
// API (containers with their exec sessions, health checks, logs, copies,
// stats and restart policies; images; volumes; networks) and the facts
// about the host they run on. The server's routers reach it through the
// small backend interfaces each declares; cmd/pierd wires it in.
//
// Parts with state and a lock of their own live in subpackages the Daemon
// holds: events (the event bus and its filters) and network (bridges,
// endpoints, IPAM, DNS, published ports). The image and volume stores are
// internal/image and internal/volume; records are kept in
// internal/metadata; containers run through an OCI runtime
// (pier-runtime, runc or crun) and one pier-monitor each, so pierd can be
// killed and restarted without stopping them.
//
// A Daemon is made once by pierd from a Config and lives until the
// process ends; its methods are safe for concurrent use.
package daemon
