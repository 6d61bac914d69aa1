package pid1

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxRounds bounds how often signalRest looks again for processes that were
// forked while it was signalling.
const maxRounds = 8

// signalRest sends sig to every process pier-init is responsible for after
// its child has exited. As PID 1 that is everyone in the PID namespace,
// which kill(-1) reaches in one call without touching pier-init itself. As
// a subreaper kill(-1) would hit the whole host, so pier-init walks its own
// descendants instead, and walks again until a walk finds no one new: a
// process may fork between the walk and the kill.
func signalRest(sig unix.Signal) {
	self := os.Getpid()
	if self == 1 {
		_ = unix.Kill(-1, sig)
		return
	}
	seen := map[int]bool{}
	for range maxRounds {
		fresh := false
		for _, pid := range descendants(self) {
			if !seen[pid] {
				seen[pid], fresh = true, true
				_ = unix.Kill(pid, sig) // ESRCH: it exited meanwhile
			}
		}
		if !fresh {
			return
		}
	}
}

// descendants lists the processes below root, breadth first, from the
// kernel's per-thread children lists; without those (a kernel built without
// CONFIG_PROC_CHILDREN) it falls back to reading every process's parent.
func descendants(root int) []int {
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/children"); err != nil {
		return descendantsByScan(root)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		kids := childrenOf(queue[0])
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out
}

// childrenOf reads the children of every thread of pid.
func childrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(dir + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func descendantsByScan(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := make(map[int]int, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := ppid(pid); ok {
			parent[pid] = pp
		}
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// ppid reads a process's parent from /proc/PID/stat, whose second field,
// the command name, may itself hold spaces and parentheses.
func ppid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}
