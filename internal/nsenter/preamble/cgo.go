package preamble

// The preamble is compiled from nsenter.c in this directory; importing the
// package is what links its constructor into the binary.

// #cgo CFLAGS: -Wall -Wextra -O2
// #include "nsenter.h"
import "C"

import "unsafe"

// HeaderValues reports nsenter.h's constants as the C compiler sees them,
// for the test that keeps internal/nsenter's protocol.go in step.
func HeaderValues() map[string]int {
	return map[string]int{
		"magic":        int(C.PIER_BOOTSTRAP_MAGIC),
		"version":      int(C.PIER_BOOTSTRAP_VERSION),
		"max join":     int(C.PIER_MAX_JOIN),
		"max cgroup":   int(C.PIER_MAX_CGROUP),
		"cg tasks":     int(C.PIER_CGROUP_TASKS),
		"cg v2dir":     int(C.PIER_CGROUP_V2DIR),
		"max path":     int(C.PIER_MAX_PATH),
		"max timens":   int(C.PIER_MAX_TIMENS),
		"usermap":      int(C.PIER_MSG_USERMAP),
		"usermap ack":  int(C.PIER_MSG_USERMAP_ACK),
		"pid":          int(C.PIER_MSG_PID),
		"error":        int(C.PIER_MSG_ERROR),
		"reply size":   int(unsafe.Sizeof(C.struct_pier_reply{})),
		"header size":  int(unsafe.Sizeof(C.struct_pier_bootstrap{})),
		"hooks":        int(C.PIER_MSG_HOOKS),
		"continue":     int(C.PIER_MSG_CONTINUE),
		"ready":        int(C.PIER_MSG_READY),
		"plan magic":   int(C.PIER_PLAN_MAGIC),
		"plan version": int(C.PIER_PLAN_VERSION),
		"plan max":     int(C.PIER_PLAN_MAX),
		"op max":       int(C.PIER_OP_MAX),
		"op mask":      int(C.PIER_OP_MASK),
		"op sysctl":    int(C.PIER_OP_SYSCTL),
	}
}

// HeaderEnv is the bootstrap fd variable's name in nsenter.h.
func HeaderEnv() string { return C.PIER_BOOTSTRAP_ENV }

// HeaderTraceEnv is the timeline variable's name in nsenter.h.
func HeaderTraceEnv() string { return C.PIER_TRACE_ENV }

// HeaderNames are the process names nsenter.h gives the preamble and init.
func HeaderNames() [4]string {
	return [4]string{C.PIER_NAME_PREAMBLE, C.PIER_NAME_INIT, C.PIER_COMM_PREAMBLE, C.PIER_COMM_INIT}
}
