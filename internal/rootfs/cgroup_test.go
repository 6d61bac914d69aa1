package rootfs

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const hybridMountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
35 22 0:31 /sub /mnt/other\040dir rw - cgroup cgroup rw,pids
`

const hybridProcCgroup = `12:pids:/user.slice
4:memory:/pier/test
3:cpu,cpuacct:/pier/test
1:name=systemd:/init.scope
0::/init.scope
`

func cgroupStep() Step {
	return Step{Kind: KindCgroup, Index: 6, Destination: "/sys/fs/cgroup", Source: "cgroup", Type: "cgroup",
		Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY}
}

func render(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestCgroupStepsV1WithNamespace(t *testing.T) {
	steps := cgroupSteps(cgroupStep(), parseMountinfo(hybridMountinfo), parseProcCgroup(hybridProcCgroup), true)
	got := render(steps)
	for _, want := range []string{
		`mount tmpfs on /sys/fs/cgroup (tmpfs) flags=0xe data="mode=755"`,
		`mount cgroup2 on /sys/fs/cgroup/unified (cgroup2) flags=0xf data=""`,
		`mount cgroup on /sys/fs/cgroup/systemd (cgroup) flags=0xf data="name=systemd"`,
		`mount cgroup on /sys/fs/cgroup/memory (cgroup) flags=0xf data="memory"`,
		`mount cgroup on /sys/fs/cgroup/cpu,cpuacct (cgroup) flags=0xf data="cpu,cpuacct"`,
		`symlink /sys/fs/cgroup/cpu -> cpu,cpuacct`,
		`symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "pids") {
		t.Errorf("a cgroup mount outside /sys/fs/cgroup was used:\n%s", got)
	}
}

func TestCgroupStepsV1Bind(t *testing.T) {
	steps := cgroupSteps(cgroupStep(), parseMountinfo(hybridMountinfo), parseProcCgroup(hybridProcCgroup), false)
	got := render(steps)
	for _, want := range []string{
		"mount /sys/fs/cgroup/memory/pier/test on /sys/fs/cgroup/memory (bind)",
		"mount /sys/fs/cgroup/cpu,cpuacct/pier/test on /sys/fs/cgroup/cpu,cpuacct (bind)",
		"mount /sys/fs/cgroup/systemd/init.scope on /sys/fs/cgroup/systemd (bind)",
		"mount /sys/fs/cgroup/unified/init.scope on /sys/fs/cgroup/unified (bind)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	for _, s := range steps[1:] {
		if s.Kind == KindMount && s.remountFlags()&unix.MS_RDONLY == 0 {
			t.Errorf("%v: a read-only cgroup mount must remount its binds read-only", s)
		}
	}
}

func TestCgroupStepsV2(t *testing.T) {
	mi := "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	steps := cgroupSteps(cgroupStep(), parseMountinfo(mi), nil, true)
	if len(steps) != 1 || steps[0].Type != "cgroup2" || steps[0].Flags&unix.MS_RDONLY == 0 {
		t.Errorf("v2: %s", render(steps))
	}
}

func TestParseMountinfoUnescapes(t *testing.T) {
	m := parseMountinfo(hybridMountinfo)
	if len(m) != 7 || m[6].Mountpoint != "/mnt/other dir" || m[6].Root != "/sub" || m[1].FSType != "tmpfs" {
		t.Errorf("parsed %+v", m)
	}
}
