package daemon

import (
	"testing"
	"testing/fstest"
)

const hybridMountinfo = `23 1 0:21 / / rw - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`

const v2Mountinfo = `23 1 0:21 / / rw - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate
`

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestReadHostHybrid(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/sys/kernel/osrelease":                        file("6.18.0-pier\n"),
		"proc/sys/kernel/arch":                             file("x86_64\n"),
		"proc/meminfo":                                     file("MemTotal:       24576000 kB\nMemFree:  1 kB\n"),
		"etc/os-release":                                   file("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n# comment\n"),
		"proc/self/mountinfo":                              file(hybridMountinfo),
		"sys/fs/cgroup/memory/cgroup.procs":                file(""),
		"sys/fs/cgroup/memory/memory.memsw.limit_in_bytes": file(""),
		"sys/fs/cgroup/cpu/cgroup.procs":                   file(""),
		"sys/fs/cgroup/cpu/cpu.cfs_quota_us":               file(""),
		"sys/fs/cgroup/cpu/cpu.shares":                     file(""),
		"sys/fs/cgroup/pids/cgroup.procs":                  file(""),
		"sys/fs/cgroup/memory/memory.oom_control":          file(""),
		"proc/sys/net/ipv4/ip_forward":                     file("1\n"),
	}
	h := readHost(fsys)
	if h.kernel != "6.18.0-pier" || h.arch != "x86_64" || h.memTotal != 24576000*1024 {
		t.Errorf("kernel/arch/mem = %q %q %d", h.kernel, h.arch, h.memTotal)
	}
	if h.os != "Debian GNU/Linux 12 (bookworm)" || h.osVersion != "12" {
		t.Errorf("os = %q %q", h.os, h.osVersion)
	}
	if h.cgroupVersion != "1" {
		t.Errorf("hybrid cgroup version = %q, want 1 (dockerd's answer)", h.cgroupVersion)
	}
	want := map[string]bool{"memory": true, "cpu": true, "pids": true, "cpuset": false, "blkio": false}
	for c, ok := range want {
		if h.controllers[c] != ok {
			t.Errorf("controller %s = %v, want %v", c, h.controllers[c], ok)
		}
	}
	if !h.swap || !h.cfsQuota || !h.cpuShares {
		t.Errorf("swap/cfs/shares = %v %v %v, want all true", h.swap, h.cfsQuota, h.cpuShares)
	}
	if !h.oomKillDisable || !h.ipForward {
		t.Errorf("oom kill disable %v, ip forward %v, want both", h.oomKillDisable, h.ipForward)
	}
}

func TestReadHostV2(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/self/mountinfo":              file(v2Mountinfo),
		"sys/fs/cgroup/cgroup.controllers": file("cpuset cpu io memory pids\n"),
		"usr/lib/os-release":               file("PRETTY_NAME='Some Linux'\nVERSION_ID=3\n"),
	}
	h := readHost(fsys)
	if h.cgroupVersion != "2" {
		t.Errorf("cgroup version = %q, want 2", h.cgroupVersion)
	}
	if !h.controllers["memory"] || !h.controllers["pids"] || h.controllers["hugetlb"] || !h.swap {
		t.Errorf("controllers = %v swap %v", h.controllers, h.swap)
	}
	if h.os != "Some Linux" || h.osVersion != "3" {
		t.Errorf("os = %q %q (from usr/lib/os-release)", h.os, h.osVersion)
	}
	if h.arch == "" {
		t.Error("no arch without /proc/sys/kernel/arch: want the GOARCH fallback")
	}
}

func TestReadHostEmpty(t *testing.T) {
	h := readHost(fstest.MapFS{})
	if h.os != "Linux" || h.cgroupVersion != "" || h.memTotal != 0 || h.ipForward {
		t.Errorf("empty host = %+v", h)
	}
}
