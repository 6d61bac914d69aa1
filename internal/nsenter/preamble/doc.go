//go:build linux

// Package preamble links pier-runtime's C preamble (nsenter.c): a
// constructor that runs before the Go runtime starts and, only when
// _PIER_BOOTSTRAP_FD is set, joins and creates the container's namespaces
// while the process is still single-threaded (nsenter.c explains why and
// draws the stages). With the bootstrap's cinit set, the clone then runs
// the C init (cinit.c, cinit_fs.c): it reads the runtime's plan and builds
// the container and execs its program without starting Go; otherwise it
// returns into Go's `pier-runtime init` (internal/containerinit). Its wire format's Go side is internal/nsenter, which
// links no C: the runtime library, and so pier-monitor and pierd, speak the
// protocol to a preamble they start from pier-runtime's binary.
//
// Only cmd/pier-runtime may link it: with internal/sigfwd (a foreground
// run's or exec's signal handler) it is the project's only use of cgo.
package preamble
