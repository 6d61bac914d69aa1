package daemon

import (
	"fmt"
	"os"
	"path/filepath"
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

// waitInitReady waits until pid catches or blocks SIGTERM and its child
// has exec'd the container's command, as runc's start returns only once
// the process is at its execve: a client that reads the logs right after
// start (docker-py's build tests run `ls` and read its output) otherwise
// finds nothing on a busy machine.
func waitInitReady(pid int) {
	deadline := time.Now().Add(initReadyTimeout)
	for time.Now().Before(deadline) {
		if takesSIGTERM(pid) && (ended(pid) || childExecd(pid)) {
			return
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// ended reports whether pid is gone or a zombie.
func ended(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command's closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// childExecd reports whether pid has a child that runs another program
// than pid's own (pier-init's fork has exec'd). A kernel without
// /proc/PID/task/TID/children, or a child that cannot be read, does not
// hold start up. No child yet (or already reaped) is false: the caller
// waits for pier-init to fork, or to end with its child.
func childExecd(pid int) bool {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if len(files) == 0 {
		return true
	}
	var kids []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		kids = append(kids, strings.Fields(string(b))...)
	}
	if len(kids) == 0 {
		return false
	}
	own, err1 := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	exe, err2 := os.Readlink("/proc/" + kids[0] + "/exe")
	return err1 != nil || err2 != nil || exe != own
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
