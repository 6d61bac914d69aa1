package daemon

import (
	"bufio"
	"bytes"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
)

// host is what /info reports about the machine, read from /proc, /sys
// and /etc through an fs.FS so that tests can hand in a fake one.
type host struct {
	kernel, os, osVersion, arch string
	memTotal                    int64
	cgroupVersion               string // "1" (also hybrid) or "2"
	controllers                 map[string]bool
	swap, cfsQuota, cpuShares   bool
	oomKillDisable, ipForward   bool
}

// readHost reads the facts; a missing file leaves its fact empty, since
// /info should answer on odd machines too.
func readHost(fsys fs.FS) host {
	h := host{
		kernel:   firstLine(fsys, "proc/sys/kernel/osrelease"),
		arch:     firstLine(fsys, "proc/sys/kernel/arch"),
		memTotal: memTotal(fsys),
		// Containers reach other networks only if the host forwards.
		ipForward: firstLine(fsys, "proc/sys/net/ipv4/ip_forward") == "1",
	}
	if h.arch == "" {
		h.arch = unameArch(runtime.GOARCH)
	}
	rel := osRelease(fsys)
	h.os, h.osVersion = rel["PRETTY_NAME"], rel["VERSION_ID"]
	if h.os == "" {
		h.os = "Linux"
	}
	h.cgroupVersion = cgroupVersion(fsys)
	h.controllers = map[string]bool{}
	if h.cgroupVersion == "2" {
		for _, c := range strings.Fields(firstLine(fsys, "sys/fs/cgroup/cgroup.controllers")) {
			h.controllers[c] = true
		}
		// cgroup v2 limits swap and CPU with the memory and cpu controllers.
		h.swap, h.cfsQuota, h.cpuShares = h.controllers["memory"], h.controllers["cpu"], h.controllers["cpu"]
		return h
	}
	for _, c := range []string{"memory", "cpu", "cpuset", "pids", "blkio"} {
		h.controllers[c] = exists(fsys, "sys/fs/cgroup/"+c+"/cgroup.procs")
	}
	h.swap = exists(fsys, "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	h.cfsQuota = exists(fsys, "sys/fs/cgroup/cpu/cpu.cfs_quota_us")
	h.cpuShares = exists(fsys, "sys/fs/cgroup/cpu/cpu.shares")
	// Only v1's memory controller can turn the OOM killer off.
	h.oomKillDisable = exists(fsys, "sys/fs/cgroup/memory/memory.oom_control")
	return h
}

// cgroupVersion is "2" when /sys/fs/cgroup itself is cgroup2 and "1"
// otherwise: a hybrid machine's controllers are all on v1, as dockerd
// reports it.
func cgroupVersion(fsys fs.FS) string {
	b, err := fs.ReadFile(fsys, "proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		// id parent maj:min root mountpoint opts... - fstype source superopts
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != "/sys/fs/cgroup" {
			continue
		}
		for i, x := range f {
			if x == "-" && i+1 < len(f) {
				if f[i+1] == "cgroup2" {
					return "2"
				}
				return "1"
			}
		}
	}
	return ""
}

func memTotal(fsys fs.FS) int64 {
	b, err := fs.ReadFile(fsys, "proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// osRelease parses os-release(5): KEY=value lines, values maybe quoted.
func osRelease(fsys fs.FS) map[string]string {
	out := map[string]string{}
	b, err := fs.ReadFile(fsys, "etc/os-release")
	if err != nil {
		if b, err = fs.ReadFile(fsys, "usr/lib/os-release"); err != nil {
			return out
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'`)
		}
		out[k] = v
	}
	return out
}

func firstLine(fsys fs.FS, name string) string {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// unameArch names GOARCH the way uname -m does, for kernels without
// /proc/sys/kernel/arch.
func unameArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return goarch
}
