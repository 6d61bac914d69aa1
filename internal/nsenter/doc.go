//go:build linux

// Package nsenter is the Go side of the wire format of pier-runtime's C
// preamble (internal/nsenter/preamble, nsenter.c there): the bootstrap
// message, the replies and the process names; and of the C init that the
// preamble's clone runs for the common container (cinit.c there): the plan
// (plan.go), every decision taken in Go, which C only executes. It links no C, so that
// whatever starts a preamble from pier-runtime's binary (the runtime's own
// commands, pier-monitor, pierd's exec) can import it; only
// cmd/pier-runtime links the preamble itself.
package nsenter
