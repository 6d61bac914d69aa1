//go:build linux

// Package runtime is the parent side of pier-runtime: it turns an OCI
// bundle into a container process and manages it through the OCI lifecycle
// (creating → created → running → stopped), keeping one state directory
// per container under its root.
//
// A container's process is started in two steps. The runtime starts a copy
// of its own binary, read-only so a container cannot overwrite it
// (selfexe.go), whose C preamble (internal/nsenter) creates and joins
// namespaces before Go starts; the process it clones continues in Go as
// `pier-runtime init` (internal/containerinit) and talks to the runtime over
// the same socket (internal/syncmsg). That process waits on the state
// directory's exec fifo until `start`.
package runtime
