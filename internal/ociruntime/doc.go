//go:build linux

// Package ociruntime drives an OCI runtime (pier-runtime, runc, crun)
// through the command line they share, runc's:
//
//	RUNTIME --root R [--log F --log-format json] VERB [FLAGS] ID [ARGS]
//
// It is the only place in pier that builds such a command line or parses
// what one prints: `ps --format json`, `events --stats`, `state`, and the
// runtime's own message when a verb fails (its --log file's last error,
// else its stderr). The caller keeps the container's state; this package
// keeps none, as with Podman's libpod/oci.go.
//
// Callers see one concrete type, CLI. pierd declares the interface it
// needs where it uses it (internal/daemon/runtime_seam.go) and tests
// fake that; pier-monitor uses CLI directly for create, start and delete.
package ociruntime
