package daemon

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// PID 1 of a pid namespace drops every signal it has no handler for. Right
// after start, pier-init (a Go program) is still starting its runtime; a
// stop sent in that window would be lost and the stop would wait for its
// timeout. So start returns only once the init has taken SIGTERM over.

// initReadyTimeout bounds the wait: a slow machine must not make start
// fail, only stop less prompt in that rare window.
const initReadyTimeout = 3 * time.Second

// usesInit reports whether pier-init is the container's PID 1.
func usesInit(host *container.HostConfig) bool {
	return host == nil || host.Init == nil || *host.Init
}

// waitInitReady waits until pid catches or blocks SIGTERM.
func waitInitReady(pid int) {
	deadline := time.Now().Add(initReadyTimeout)
	for time.Now().Before(deadline) {
		if takesSIGTERM(pid) {
			return
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// takesSIGTERM reads the SigCgt and SigBlk masks of /proc/PID/status; a
// process that has ended (gone, or a zombie its monitor has yet to reap)
// needs no wait either.
func takesSIGTERM(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true // gone: nothing to wait for
	}
	const sigterm = uint64(1) << (15 - 1)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if st := strings.TrimSpace(v); ok && k == "State" && (strings.HasPrefix(st, "Z") || strings.HasPrefix(st, "X")) {
			return true
		}
		if !ok || (k != "SigCgt" && k != "SigBlk") {
			continue
		}
		var mask uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &mask); err == nil && mask&sigterm != 0 {
			return true
		}
	}
	return false
}
