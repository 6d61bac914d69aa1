package ociruntime

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killGroup SIGKILLs the live members of process group pgid but spare,
// again while any forked meanwhile is left.
func killGroup(pgid, spare int) {
	for range 10 {
		members := groupMembers(pgid, spare)
		if len(members) == 0 {
			return
		}
		for _, p := range members {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// groupMembers are the processes of group pgid that are not zombies,
// spare aside, from /proc.
func groupMembers(pgid, spare int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == spare {
			continue
		}
		if pgrp, state := procGroup(pid); pgrp == pgid && state != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// procGroup is pid's process group and state, from /proc/PID/stat
// ("pid (comm) state ppid pgrp ..."); 0 when it cannot be read.
func procGroup(pid int) (int, string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, ""
	}
	pgrp, _ := strconv.Atoi(f[2])
	return pgrp, f[0]
}

// readPid reads a runtime's pid file; 0 when there is none.
func readPid(path string) int {
	if path == "" {
		return 0
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
