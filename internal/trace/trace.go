//go:build linux

// Package trace writes the start path's timeline when the environment
// variable PIER_TRACE names a file: each Mark appends one line
//
//	<CLOCK_MONOTONIC ns> <pid> <who> <phase>
//
// with a single write(2) on an O_APPEND descriptor, so that the lines of
// every process of a start (pierd, pier-monitor, pier-runtime, its C
// preamble, which writes the same format, and the container's init) land
// whole and in one clock in the same file. bench/timeline turns the file
// into a per-phase table.
//
// Without PIER_TRACE a Mark costs one branch. The descriptor is opened
// once, close-on-exec, before a container's init pivots away from the
// host's files, and never passes into the container's program.
package trace

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Env is the variable that names the trace file; nsenter.c reads it too.
const Env = "PIER_TRACE"

var fd = open()

func open() int {
	path := os.Getenv(Env)
	if path == "" {
		return -1
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return -1
	}
	return fd
}

// On reports whether marks are written.
func On() bool { return fd >= 0 }

// Mark records that process who reached phase now. Errors are ignored: a
// timeline must never change what it measures.
func Mark(who, phase string) {
	if fd < 0 {
		return
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	b := make([]byte, 0, 96)
	b = strconv.AppendInt(b, ts.Nano(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(os.Getpid()), 10)
	b = append(b, ' ')
	b = append(b, who...)
	b = append(b, ' ')
	b = append(b, phase...)
	b = append(b, '\n')
	_, _ = unix.Write(fd, b)
}
