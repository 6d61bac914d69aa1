package buildkitd

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sweep stops the pier-buildkitd that the pid file names, if it is still
// one serving this root: a child notices its parent's death by its pipe
// and stops by itself, but a pierd restarted at once could otherwise meet
// it still holding BuildKit's databases.
func (s *Supervisor) sweep() {
	pf := filepath.Join(s.cfg.RunDir, pidFile)
	b, err := os.ReadFile(pf)
	if err != nil {
		return
	}
	defer os.Remove(pf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !isChild(pid, s.cfg.Root) {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	s.cfg.Log.Warn("stopping the pier-buildkitd an earlier pierd left", "pid", pid)
	_ = p.Signal(os.Interrupt)
	deadline, killed := time.Now().Add(stopTimeout), false
	for isChild(pid, s.cfg.Root) {
		if time.Now().After(deadline) {
			if killed {
				s.cfg.Log.Error("the pier-buildkitd an earlier pierd left does not die", "pid", pid)
				return
			}
			_ = p.Kill()
			deadline, killed = time.Now().Add(stopTimeout), true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isChild reports whether pid is a live pier-buildkitd serving root.
func isChild(pid int, root string) bool {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name's closing parenthesis.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if filepath.Base(args[0]) != "pier-buildkitd" {
		return false
	}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--root" && args[i+1] == root {
			return true
		}
	}
	return false
}
