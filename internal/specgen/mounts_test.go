package specgen

import (
	"os"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultMounts(t *testing.T) {
	s := build(t, input(t))
	want := map[string]struct {
		kind string
		opts []string
	}{
		"/proc":            {"proc", []string{"nosuid", "noexec", "nodev"}},
		"/dev":             {"tmpfs", []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		"/dev/pts":         {"devpts", []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		"/sys":             {"sysfs", []string{"nosuid", "noexec", "nodev", "ro"}},
		"/sys/fs/cgroup":   {"cgroup", []string{"ro", "nosuid", "noexec", "nodev"}},
		"/dev/mqueue":      {"mqueue", []string{"nosuid", "noexec", "nodev"}},
		"/dev/shm":         {"tmpfs", []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
		"/etc/resolv.conf": {"bind", []string{"rbind", "rprivate"}},
		"/etc/hostname":    {"bind", []string{"rbind", "rprivate"}},
		"/etc/hosts":       {"bind", []string{"rbind", "rprivate"}},
		InitTarget:         {"bind", []string{"bind", "ro"}},
	}
	if len(s.Mounts) != len(want) {
		t.Errorf("%d mounts, want %d: %+v", len(s.Mounts), len(want), s.Mounts)
	}
	for dst, w := range want {
		m, ok := mountAt(s, dst)
		if !ok || m.Type != w.kind || !slices.Equal(m.Options, w.opts) {
			t.Errorf("%s = %+v, want %s %v", dst, m, w.kind, w.opts)
		}
	}
	if i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/dev" }); i != 1 {
		t.Errorf("/dev is mount %d, want it right after /proc, before its submounts", i)
	}
	if s.Root.Readonly {
		t.Error("root read-only by default")
	}
}

func TestReadonlyRootfsAndShmSize(t *testing.T) {
	in := input(t)
	in.HostConfig.ReadonlyRootfs = true
	in.HostConfig.ShmSize = 1 << 20
	s := build(t, in)
	if !s.Root.Readonly {
		t.Error("root not read-only")
	}
	if m, _ := mountAt(s, "/etc/hosts"); !slices.Contains(m.Options, "ro") {
		t.Errorf("/etc/hosts options %v, want ro under a read-only root", m.Options)
	}
	if m, _ := mountAt(s, "/dev/shm"); !slices.Contains(m.Options, "size=1048576") {
		t.Errorf("/dev/shm options %v, want size=1048576", m.Options)
	}
}

func TestUserMounts(t *testing.T) {
	in := input(t)
	in.HostConfig.Binds = []string{"/srv/data:/data/sub:ro,rslave", "/srv/a:/a", "myvol:/vol:rw,z"}
	in.HostConfig.Mounts = []mount.Mount{
		{Type: mount.TypeBind, Source: "/srv/b", Target: "/b", ReadOnly: true, BindOptions: &mount.BindOptions{NonRecursive: true, Propagation: mount.PropagationShared}},
		{Type: mount.TypeVolume, Source: "named", Target: "/named", VolumeOptions: &mount.VolumeOptions{Subpath: "x/y"}},
		{Type: mount.TypeTmpfs, Target: "/scratch", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 4096, Mode: os.FileMode(0o1777), Options: [][]string{{"exec"}}}},
		{Type: mount.TypeTmpfs, Target: "/dev/shm", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 8192}},
	}
	in.HostConfig.Tmpfs = map[string]string{"/run": "size=1m,exec", "/tmp": ""}
	s := build(t, in)
	want := map[string]specs.Mount{
		"/data/sub": {Type: "bind", Source: "/srv/data", Options: []string{"rbind", "rslave", "ro"}},
		"/a":        {Type: "bind", Source: "/srv/a", Options: []string{"rbind", "rprivate"}},
		"/vol":      {Type: "bind", Source: "/var/lib/pier/volumes/myvol/_data", Options: []string{"rbind", "rprivate"}},
		"/b":        {Type: "bind", Source: "/srv/b", Options: []string{"bind", "shared", "ro"}},
		"/named":    {Type: "bind", Source: "/var/lib/pier/volumes/named/_data/x/y", Options: []string{"rbind", "rprivate"}},
		"/scratch":  {Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "rprivate", "size=4096", "mode=1777", "exec"}},
		"/dev/shm":  {Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "rprivate", "size=8192"}},
		"/run":      {Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "rprivate", "size=1m", "exec"}},
		"/tmp":      {Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "rprivate"}},
	}
	for dst, w := range want {
		m, ok := mountAt(s, dst)
		if !ok || m.Type != w.Type || m.Source != w.Source || !slices.Equal(m.Options, w.Options) {
			t.Errorf("%s = %+v, want %+v", dst, m, w)
		}
	}
	shm := 0
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			shm++
		}
	}
	if shm != 1 {
		t.Errorf("%d mounts at /dev/shm, want the user's alone", shm)
	}
	// Parents before children: /data/sub (depth 2) after every depth-1 mount of the user's.
	idx := func(dst string) int {
		return slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == dst })
	}
	if idx("/data/sub") < idx("/a") || idx("/data/sub") < idx("/tmp") {
		t.Errorf("mount order %v: deeper targets must come later", s.Mounts)
	}
}

func TestUserDevReplacesDevMounts(t *testing.T) {
	in := input(t)
	in.HostConfig.Binds = []string{"/dev:/dev"}
	s := build(t, in)
	for _, m := range s.Mounts {
		if m.Destination == "/dev/pts" || m.Destination == "/dev/shm" || (m.Destination == "/dev" && m.Type != "bind") {
			t.Errorf("default mount %s kept under a user /dev", m.Destination)
		}
	}
}

func TestNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hc    container.HostConfig
		netns string
		want  map[specs.LinuxNamespaceType]string // type -> path; absent = host's
	}{
		{name: "defaults", want: map[specs.LinuxNamespaceType]string{
			"mount": "", "network": "", "pid": "", "ipc": "", "uts": "", "cgroup": ""}},
		{name: "bridge is a new netns", hc: container.HostConfig{NetworkMode: "bridge"}, want: map[specs.LinuxNamespaceType]string{
			"mount": "", "network": "", "pid": "", "ipc": "", "uts": "", "cgroup": ""}},
		{name: "host", hc: container.HostConfig{NetworkMode: "host", PidMode: "host", IpcMode: "host", UTSMode: "host", CgroupnsMode: "host"},
			want: map[specs.LinuxNamespaceType]string{"mount": ""}},
		{name: "container", hc: container.HostConfig{NetworkMode: "none", PidMode: "container:db", IpcMode: "container:db"},
			want: map[specs.LinuxNamespaceType]string{"mount": "", "network": "", "uts": "", "cgroup": "",
				"pid": "/proc/4242/ns/pid", "ipc": "/proc/4242/ns/ipc"}},
		{name: "net container", hc: container.HostConfig{NetworkMode: "container:db"}, want: map[specs.LinuxNamespaceType]string{
			"mount": "", "network": "/proc/4242/ns/net", "pid": "", "ipc": "", "uts": "", "cgroup": ""}},
		{name: "uts container", hc: container.HostConfig{NetworkMode: "none", UTSMode: "container:db"}, want: map[specs.LinuxNamespaceType]string{
			"mount": "", "network": "", "pid": "", "ipc": "", "uts": "/proc/4242/ns/uts", "cgroup": ""}},
		{name: "bridge joins the engine's netns", hc: container.HostConfig{NetworkMode: "bridge"}, netns: "/run/pier/netns/x",
			want: map[specs.LinuxNamespaceType]string{
				"mount": "", "network": "/run/pier/netns/x", "pid": "", "ipc": "", "uts": "", "cgroup": ""}},
		{name: "user network joins the engine's netns", hc: container.HostConfig{NetworkMode: "backend"}, netns: "/run/pier/netns/y",
			want: map[specs.LinuxNamespaceType]string{
				"mount": "", "network": "/run/pier/netns/y", "pid": "", "ipc": "", "uts": "", "cgroup": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t)
			*in.HostConfig = tc.hc
			in.NetnsPath = tc.netns
			s := build(t, in)
			got := map[specs.LinuxNamespaceType]string{}
			for _, ns := range s.Linux.Namespaces {
				got[ns.Type] = ns.Path
			}
			if len(got) != len(tc.want) {
				t.Errorf("namespaces = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if p, ok := got[k]; !ok || p != v {
					t.Errorf("%s namespace = %q (present %v), want %q", k, p, ok, v)
				}
			}
		})
	}
}

func TestHostModesMounts(t *testing.T) {
	in := input(t)
	in.HostConfig.UTSMode = "host"
	in.HostConfig.IpcMode = "container:db"
	s := build(t, in)
	if s.Hostname != "" {
		t.Errorf("hostname = %q with --uts host, want none", s.Hostname)
	}
	if _, ok := envValue(s, "HOSTNAME"); ok {
		t.Error("HOSTNAME set with --uts host")
	}
	// Not /proc/PID/root/dev/shm: mount(2) cannot bind across namespaces.
	if m, _ := mountAt(s, "/dev/shm"); m.Type != "tmpfs" {
		t.Errorf("/dev/shm = %+v, want its own tmpfs", m)
	}
	in.HostConfig.IpcMode = "none"
	if _, ok := mountAt(build(t, in), "/dev/shm"); ok {
		t.Error("/dev/shm mounted with --ipc none")
	}
	in.HostConfig.IpcMode = "host"
	if m, _ := mountAt(build(t, in), "/dev/shm"); m.Source != "/dev/shm" {
		t.Errorf("/dev/shm = %+v, want the host's", m)
	}
}

// TestRootfsPropagation: Docker's rule, a shared bind needs a shared root
// and a slave bind a slave root; else the runtime's rprivate.
func TestRootfsPropagation(t *testing.T) {
	for _, tc := range []struct {
		binds []string
		want  string
	}{
		{nil, ""},
		{[]string{"/a:/a"}, ""},
		{[]string{"/a:/a:rprivate"}, ""},
		{[]string{"/a:/a:ro,rslave"}, "rslave"},
		{[]string{"/a:/a:slave", "/b:/b:rshared"}, "rshared"},
		{[]string{"/b:/b:shared", "/a:/a:rslave"}, "rshared"},
	} {
		in := input(t)
		in.HostConfig.Binds = tc.binds
		if got := build(t, in).Linux.RootfsPropagation; got != tc.want {
			t.Errorf("%v: rootfsPropagation %q, want %q", tc.binds, got, tc.want)
		}
	}
}

func TestShmFromTheEngine(t *testing.T) {
	for _, tc := range []struct {
		ipc      container.IpcMode
		shmPath  string
		wantType string
		wantSrc  string
	}{
		{"shareable", "/var/lib/pier/containers/x/shm", "bind", "/var/lib/pier/containers/x/shm"},
		{"container:db", "/var/lib/pier/containers/db/shm", "bind", "/var/lib/pier/containers/db/shm"},
		{"private", "", "tmpfs", "shm"},
		{"host", "/ignored", "bind", "/dev/shm"},
	} {
		in := input(t)
		in.HostConfig.IpcMode, in.ShmPath = tc.ipc, tc.shmPath
		if tc.ipc.IsContainer() {
			in.HostConfig.NetworkMode = "none"
		}
		s := build(t, in)
		m, ok := mountAt(s, "/dev/shm")
		if !ok || m.Type != tc.wantType || m.Source != tc.wantSrc {
			t.Errorf("--ipc %s with ShmPath %q: /dev/shm %+v, want %s from %s", tc.ipc, tc.shmPath, m, tc.wantType, tc.wantSrc)
		}
	}
}
