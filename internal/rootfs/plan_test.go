package rootfs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/ocispec"
)

func plan(t *testing.T, spec *specs.Spec) []Step {
	t.Helper()
	steps, err := Plan(Options{Rootfs: "/r", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

func find(steps []Step, kind Kind, dest string) *Step {
	for i := range steps {
		if steps[i].Kind == kind && steps[i].Destination == dest {
			return &steps[i]
		}
	}
	return nil
}

func TestPlanDefaultSpec(t *testing.T) {
	steps := plan(t, ocispec.Default())
	want := []struct {
		kind  Kind
		dest  string
		fs    string
		flags uintptr
		data  string
	}{
		{KindMount, "/proc", "proc", 0, ""},
		{KindMount, "/dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
		{KindMount, "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{KindMount, "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, "mode=1777,size=65536k"},
		{KindMount, "/dev/mqueue", "mqueue", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, ""},
		{KindMount, "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY, ""},
		{KindCgroup, "/sys/fs/cgroup", "cgroup", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RELATIME | unix.MS_RDONLY, ""},
	}
	for i, w := range want {
		s := steps[i]
		if s.Kind != w.kind || s.Destination != w.dest || s.Type != w.fs || s.Flags != w.flags || s.Data != w.data || s.Index != i {
			t.Errorf("step %d = %v, want %+v", i, s, w)
		}
	}
	var devices, links []string
	for _, s := range steps {
		switch s.Kind {
		case KindDevice:
			devices = append(devices, s.Destination)
		case KindSymlink:
			links = append(links, s.Destination+"->"+s.Target)
		}
	}
	wantDev := []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
	if !reflect.DeepEqual(devices, wantDev) {
		t.Errorf("devices %v, want %v", devices, wantDev)
	}
	wantLinks := []string{"/dev/fd->/proc/self/fd", "/dev/stdin->/proc/self/fd/0", "/dev/stdout->/proc/self/fd/1",
		"/dev/stderr->/proc/self/fd/2", "/dev/core->/proc/kcore", "/dev/ptmx->pts/ptmx"}
	if !reflect.DeepEqual(links, wantLinks) {
		t.Errorf("links %v, want %v", links, wantLinks)
	}
	if s := find(steps, KindSymlink, "/dev/core"); s == nil || s.IfExists != "/proc/kcore" {
		t.Errorf("/dev/core must depend on /proc/kcore: %+v", s)
	}
	if s := find(steps, KindSymlink, "/dev/ptmx"); s == nil || !s.Replace {
		t.Errorf("/dev/ptmx must replace what is there: %+v", s)
	}
	var fin []string
	for _, s := range steps {
		if s.Phase == PhaseFinish {
			fin = append(fin, s.String())
		}
	}
	if len(fin) != 5+10+1 || fin[0] != "readonly /proc/bus" || fin[5] != "mask /proc/acpi" || fin[15] != "remount / ro" {
		t.Errorf("finish steps %q", fin)
	}
}

func TestPlanErrorsNameTheField(t *testing.T) {
	cases := []struct {
		edit func(*specs.Spec)
		want string
	}{
		{func(s *specs.Spec) { s.Mounts[2].Destination = "dev/pts" }, `mounts[2].destination: "dev/pts" must be absolute`},
		{func(s *specs.Spec) { s.Mounts[1].Options[0] = "nosiud" }, `mounts[1].options: unknown mount option "nosiud" for type tmpfs`},
		{func(s *specs.Spec) { s.Mounts[0].Options = []string{"tmpcopyup"} }, `mounts[0].options: mount option "tmpcopyup"`},
		{func(s *specs.Spec) { s.Mounts[0].Type = "" }, `mounts[0].type: missing`},
		{func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Options: []string{"rbind"}})
		}, `mounts[7].source: a bind mount needs a source`},
		{func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshraed" }, `linux.rootfsPropagation: unknown propagation "rshraed"`},
		{func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}, {Path: "/dev/x", Type: "x"}}
		}, `linux.devices[1]: type: unknown device type "x"`},
		{func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/x", Type: "c"}} }, `linux.devices[0]: path: "dev/x" must be absolute`},
		{func(s *specs.Spec) { s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "proc/x") }, `linux.maskedPaths[10]: "proc/x" must be absolute`},
		{func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"x"} }, `linux.readonlyPaths[0]: "x" must be absolute`},
	}
	for _, c := range cases {
		spec := ocispec.Default()
		c.edit(spec)
		_, err := Plan(Options{Rootfs: "/r", Spec: spec})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %v, want it to start with %q", err, c.want)
		}
	}
	if _, err := Plan(Options{Rootfs: "rootfs", Spec: ocispec.Default()}); err == nil {
		t.Errorf("relative rootfs accepted")
	}
}

func TestPlanBindOptions(t *testing.T) {
	spec := ocispec.Default()
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/data", Type: "none", Source: "/volumes/testing", Options: []string{"rbind", "ro", "rprivate", "nosuid"}},
		specs.Mount{Destination: "/file/", Type: "bind", Source: "/etc/hosts", Options: []string{"rro", "rnoatime", "shared"}},
		specs.Mount{Destination: "/x", Type: "ext4", Source: "/dev/sdz", Options: []string{"ro", "discard", "errors=remount-ro"}},
	)
	steps := plan(t, spec)
	d := find(steps, KindMount, "/data")
	if d == nil || !d.IsBind() || d.Type != "bind" || d.Flags != unix.MS_BIND|unix.MS_REC|unix.MS_RDONLY|unix.MS_NOSUID {
		t.Fatalf("/data: %v", d)
	}
	if d.remountFlags() != unix.MS_RDONLY|unix.MS_NOSUID {
		t.Errorf("/data remount flags %#x", d.remountFlags())
	}
	if !reflect.DeepEqual(d.Propagation, []uintptr{unix.MS_PRIVATE | unix.MS_REC}) {
		t.Errorf("/data propagation %v", d.Propagation)
	}
	f := find(steps, KindMount, "/file")
	if f == nil || f.Flags != unix.MS_BIND || f.remountFlags() != 0 || f.Attr == nil {
		t.Fatalf("/file: %v", f)
	}
	want := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}
	if *f.Attr != want {
		t.Errorf("/file attr %+v, want %+v", *f.Attr, want)
	}
	// Unknown filesystem types keep their own bare options as data.
	if x := find(steps, KindMount, "/x"); x == nil || x.Data != "discard,errors=remount-ro" || x.Flags != unix.MS_RDONLY {
		t.Errorf("/x: %v", x)
	}
}

func TestPlanHostDevSkipsDevSetup(t *testing.T) {
	spec := ocispec.Default()
	spec.Mounts[1] = specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind"}}
	for _, s := range plan(t, spec) {
		if s.Kind == KindDevice || s.Kind == KindSymlink {
			t.Errorf("host /dev bound, yet %v", s)
		}
	}
}

func TestPlanDevices(t *testing.T) {
	spec := ocispec.Default()
	mode := uint32(0o20600) // S_IFCHR|0600, as some writers send it
	fm := mode
	spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: fileMode(fm)},
		{Path: "/dev/fifo", Type: "p"},
	}
	steps := plan(t, spec)
	var nulls int
	for _, s := range steps {
		if s.Kind == KindDevice && s.Destination == "/dev/null" {
			nulls++
		}
	}
	if nulls != 1 {
		t.Errorf("/dev/null planned %d times; the config's must replace the default", nulls)
	}
	fuse := find(steps, KindDevice, "/dev/fuse")
	if fuse == nil || uint32(*fuse.Device.FileMode) != 0o600 || *fuse.Device.UID != 0 {
		t.Errorf("/dev/fuse: %+v", fuse)
	}
	if n := find(steps, KindDevice, "/dev/null"); uint32(*n.Device.FileMode) != 0o666 {
		t.Errorf("/dev/null mode %o, want the default 0666", *n.Device.FileMode)
	}
	if deviceType("p") != unix.S_IFIFO || deviceType("u") != unix.S_IFCHR || deviceType("b") != unix.S_IFBLK {
		t.Errorf("device types")
	}
}

// runtimeSpecExample is the Linux part of the runtime-spec's config.md example.
const runtimeSpecExample = `{
	"ociVersion": "1.0.1", "root": {"path": "rootfs", "readonly": true},
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","strictatime","mode=755","size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid","noexec","nodev","mode=1777","size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid","noexec","nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid","noexec","nodev"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid","noexec","nodev","relatime","ro"]},
		{"destination": "/data", "type": "none", "source": "/volumes/testing", "options": ["rbind","rw"]}
	],
	"linux": {
		"devices": [
			{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
			{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432, "uid": 0, "gid": 0}
		],
		"rootfsPropagation": "slave",
		"maskedPaths": ["/proc/kcore"],
		"readonlyPaths": ["/proc/sys"]
	}
}`

func TestPlanRuntimeSpecExample(t *testing.T) {
	var spec specs.Spec
	if err := json.Unmarshal([]byte(runtimeSpecExample), &spec); err != nil {
		t.Fatal(err)
	}
	steps := plan(t, &spec)
	if s := find(steps, KindMount, "/data"); s == nil || s.Flags != unix.MS_BIND|unix.MS_REC || s.remountFlags() != 0 {
		t.Errorf("/data: %v", s)
	}
	if s := find(steps, KindDevice, "/dev/sda"); s == nil || s.Device.Major != 8 || uint32(*s.Device.FileMode) != 0o660 {
		t.Errorf("/dev/sda: %v", s)
	}
	prep, final, err := rootPropagation(&spec)
	if err != nil || prep != unix.MS_REC|unix.MS_SLAVE || final != 0 {
		t.Errorf("slave propagation: %#x %#x %v", prep, final, err)
	}
	if s := find(steps, KindRemountRoot, "/"); s == nil {
		t.Errorf("root.readonly not planned")
	}
}

func TestRootPropagation(t *testing.T) {
	for v, want := range map[string][2]uintptr{
		"":         {unix.MS_REC | unix.MS_PRIVATE, 0},
		"rprivate": {unix.MS_REC | unix.MS_PRIVATE, 0},
		// Shared at once, so rshared binds stay in the host's peer group
		// (Prepare walls the rootfs off with privateParent).
		"shared":     {unix.MS_REC | unix.MS_SHARED, unix.MS_REC | unix.MS_SHARED},
		"unbindable": {unix.MS_REC | unix.MS_PRIVATE, unix.MS_REC | unix.MS_UNBINDABLE},
	} {
		spec := ocispec.Default()
		spec.Linux.RootfsPropagation = v
		p, f, err := rootPropagation(spec)
		if err != nil || p != want[0] || f != want[1] {
			t.Errorf("%q: %#x %#x %v, want %#x %#x", v, p, f, err, want[0], want[1])
		}
		if st := find(plan(t, spec), KindPropagation, "/"); (st != nil) != (want[1] != 0) {
			t.Errorf("%q: final propagation step %v", v, st)
		}
	}
}
