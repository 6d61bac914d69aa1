//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command pier-monitor watches one container for pierd, from outside it:
// it owns the container's stdout and stderr and writes them to its
// json-file log, records its exit status atomically and deletes it, so
// that pierd can die and come back without harm. The work is in
// internal/monitor; it is built static (CGO_ENABLED=0), one per container.
//
// usage: pier-monitor CONFIG.json
//
// or `pier-monitor --park`: started by pierd before its container is
// known, it warms up and waits on fd 5 for its config's path
// (internal/monitor's park.go).
//
// Once the container has run for a second, the monitor re-executes itself
// (same pid) as `pier-monitor --watch FD CONFIG.json`, its watch image,
// which resumes from the state in the memfd FD (internal/monitor's
// handover.go). The watch image is pier-monitor-watch when it sits beside
// this binary: this command built with -tags monitorwatch, without
// pier-runtime's library; it re-executes the full monitor as `--finish`
// to delete the container at its end.
//
// Its GOMAXPROCS is set by hand, so the go:debug lines keep Go's runtime
// from reading the cgroup's CPU limit at start and from holding those
// cgroup files open for the process's whole life.
package main

import (
	"os"
	"runtime"
	"strconv"

	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/trace"
)

// tune is "off" in the benchmark's comparison build (-X main.tune=off),
// which leaves the Go runtime's defaults (and its GO* variables) alone.
var tune = "on"

// init trims what the Go runtime keeps per process, which is per container
// here: one P means one mcache and one idle GC worker. The collector stays
// on: turned off (GOGC=off under a memory limit) the launch's garbage grew
// the heap and its metadata, and the idle monitor was 0.36 MB larger (see
// internal/monitor's doc for the measurements).
func init() {
	if tune == "off" {
		return
	}
	runtime.GOMAXPROCS(1)
}

func main() {
	if len(os.Args) == 4 && (os.Args[1] == "--watch" || os.Args[1] == "--finish") {
		resume(os.Args[1], os.Args[2])
		return
	}
	if len(os.Args) == 2 && os.Args[1] == monitor.ParkArg {
		trace.Mark("monitor", "go main")
		exit(monitor.RunParked(os.Args[0]))
		return
	}
	if len(os.Args) != 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		os.Stderr.WriteString("usage: pier-monitor CONFIG.json\n")
		os.Exit(2)
	}
	trace.Mark("monitor", "go main")
	cfg, err := monitor.ReadConfig(os.Args[1])
	if err == nil {
		err = monitor.Run(cfg, os.Args)
	}
	exit(err)
}

func exit(err error) {
	if err != nil {
		os.Stderr.WriteString("pier-monitor: " + err.Error() + "\n")
		os.Exit(1)
	}
}

// resume is the watch image (--watch), re-executed after the launch, or
// the finish image (--finish), which deletes the container at the end of
// the watch binary's watch; each resumes from the memfd fd.
func resume(mode, fd string) {
	n, err := strconv.Atoi(fd)
	if err == nil && mode == "--watch" {
		err = monitor.Watch(n)
	} else if err == nil {
		err = monitor.Finish(n)
	}
	if err != nil {
		os.Stderr.WriteString("pier-monitor: " + err.Error() + "\n")
		os.Exit(1)
	}
}
