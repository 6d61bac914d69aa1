//go:build linux

// Package nsenter links pier-runtime's C preamble: a constructor that runs
// before the Go runtime starts and, only when _PIER_BOOTSTRAP_FD is set,
// joins and creates the container's namespaces while the process is still
// single-threaded (nsenter.c explains why and draws the stages). The Go side
// of its wire format is in protocol.go; the runtime imports this package
// for both.
//
// Only cmd/pier-runtime may link it: it is the project's one use of cgo.
package nsenter
