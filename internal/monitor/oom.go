package monitor

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// oomKills sums the oom_kill counters of the given memory cgroups: the
// "oom_kill N" line of memory.events (v2) or memory.oom_control (v1, Linux
// 4.13+). A directory without either counts 0, so that a container without
// a memory cgroup is simply never OOMKilled; ok is false if no counter was
// found at all.
func oomKills(dirs []string) (n uint64, ok bool) {
	for _, dir := range dirs {
		for _, name := range []string{"memory.events", "memory.oom_control"} {
			if v, found := counter(filepath.Join(dir, name), "oom_kill"); found {
				n += v
				ok = true
				break
			}
		}
	}
	return n, ok
}

// counter reads the value of key from a flat-keyed cgroup file.
func counter(path, key string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
