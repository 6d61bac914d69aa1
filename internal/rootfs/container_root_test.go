package rootfs

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/ocispec"
	"github.com/pier-engine/pier/internal/testutil"
)

// runHelper makes a busybox rootfs, lets edit adjust the input, runs the
// helper in new namespaces and returns its report, or its stderr as err.
func runHelper(t *testing.T, cloneflags uintptr, in helperInput) (helperReport, string, error) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "input.json")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+f)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags, Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var rep helperReport
	if err := cmd.Run(); err != nil {
		return rep, stderr.String(), err
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("helper output %q: %v", stdout.String(), err)
	}
	return rep, stderr.String(), nil
}

const allNS = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

func busybox(t *testing.T) string {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox")
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := testutil.MakeBusyboxRootfs(rootfs); err != nil {
		t.Fatal(err)
	}
	return rootfs
}

// mountsByPoint indexes mountinfo by mount point: the last (topmost) wins.
func mountsByPoint(mi string) map[string][2]string {
	out := map[string][2]string{}
	for _, line := range strings.Split(mi, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		sep := 0
		for i, w := range f {
			if w == "-" {
				sep = i
				break
			}
		}
		out[unescape(f[4])] = [2]string{f[sep+1], f[5]} // fstype, per-mount options
	}
	return out
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

func TestContainerRootfs(t *testing.T) {
	rootfs := busybox(t)
	hostMarker := filepath.Join(t.TempDir(), "host-marker")
	if err := os.WriteFile(hostMarker, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(rootfs, "secret"), []byte("secret"), 0o644))
	must(t, os.MkdirAll(filepath.Join(rootfs, "secretdir/sub"), 0o755))
	must(t, os.MkdirAll(filepath.Join(rootfs, "data"), 0o755))
	must(t, os.Symlink("/", filepath.Join(rootfs, "evil")))
	must(t, os.Symlink("../../../../../..", filepath.Join(rootfs, "evil2")))
	unique := "pier-rootfs-test-" + filepath.Base(filepath.Dir(filepath.Dir(rootfs)))
	bindSrc := t.TempDir()
	must(t, os.WriteFile(filepath.Join(bindSrc, "f"), []byte("bound"), 0o644))

	spec := ocispec.Default()
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/evil/tmp/" + unique, Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/evil2/" + unique + "/x", Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: bindSrc, Options: []string{"rbind", "ro", "nosuid"}},
		specs.Mount{Destination: "/mnt/file", Type: "bind", Source: filepath.Join(bindSrc, "f"), Options: []string{"bind"}},
	)
	spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: fileMode(0o600), UID: u32(1), GID: u32(2)}}
	spec.Linux.MaskedPaths = append(spec.Linux.MaskedPaths, "/secret", "/secretdir", "/no/such/path")
	spec.Linux.ReadonlyPaths = append(spec.Linux.ReadonlyPaths, "/data")

	rep, stderr, err := runHelper(t, allNS, helperInput{
		Rootfs: rootfs, Spec: spec, Console: true,
		Probe: []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fuse",
			"/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stderr", "/dev/shm", "/dev/console",
			"/secret", "/secretdir", hostMarker, "/mnt/file", "/bin/busybox"},
		Write: []string{"/newfile", "/data/x", "/proc/sys/kernel/hostname", "/dev/shm/ok", "/mnt/ro/x"},
	})
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	t.Logf("container mountinfo:\n%s", rep.Mountinfo)
	m := mountsByPoint(rep.Mountinfo)
	checks := []struct{ point, fstype, opt string }{
		{"/", "", "ro"},
		{"/proc", "proc", "rw"},
		{"/dev", "tmpfs", "nosuid"},
		{"/dev/pts", "devpts", "noexec"},
		{"/dev/shm", "tmpfs", "nodev"},
		{"/dev/mqueue", "mqueue", "nosuid"},
		{"/sys", "sysfs", "ro"},
		{"/sys/fs/cgroup", "tmpfs", "ro"},
		{"/sys/fs/cgroup/memory", "cgroup", "ro"},
		{"/proc/sys", "proc", "ro"},
		{"/data", "", "ro"},
		{"/mnt/ro", "", "ro"},
		{"/mnt/ro", "", "nosuid"},
		{"/secretdir", "tmpfs", "ro"},
		{"/dev/console", "devpts", "rw"},
	}
	for _, c := range checks {
		got, ok := m[c.point]
		if !ok {
			t.Errorf("%s is not a mount point", c.point)
			continue
		}
		if (c.fstype != "" && got[0] != c.fstype) || !hasOpt(got[1], c.opt) {
			t.Errorf("%s: %s %s, want %s with %s", c.point, got[0], got[1], c.fstype, c.opt)
		}
	}
	if len(m) > 60 {
		t.Errorf("%d mounts in the container: the host's are still visible\n%s", len(m), rep.Mountinfo)
	}
	devs := map[string][3]uint32{ // major, minor, perm
		"/dev/null": {1, 3, 0o666}, "/dev/zero": {1, 5, 0o666}, "/dev/full": {1, 7, 0o666},
		"/dev/random": {1, 8, 0o666}, "/dev/urandom": {1, 9, 0o666}, "/dev/tty": {5, 0, 0o666}, "/dev/fuse": {10, 229, 0o600},
	}
	for p, w := range devs {
		pr := rep.Probes[p]
		if !pr.Exists || pr.Mode&unix.S_IFMT != unix.S_IFCHR || pr.Major != w[0] || pr.Minor != w[1] || pr.Mode&0o7777 != w[2] {
			t.Errorf("%s: %+v, want char %d:%d mode %o", p, pr, w[0], w[1], w[2])
		}
	}
	if pr := rep.Probes["/dev/fuse"]; pr.UID != 1 || pr.GID != 2 {
		t.Errorf("/dev/fuse owner %d:%d, want 1:2", pr.UID, pr.GID)
	}
	for p, target := range map[string]string{"/dev/ptmx": "pts/ptmx", "/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stderr": "/proc/self/fd/2"} {
		if got := rep.Probes[p].Link; got != target {
			t.Errorf("%s -> %q, want %q", p, got, target)
		}
	}
	if pr := rep.Probes["/secret"]; pr.Content != "" || pr.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("masked /secret still shows %q (%+v)", pr.Content, pr)
	}
	if pr := rep.Probes["/secretdir"]; pr.Entries != 0 {
		t.Errorf("masked /secretdir still has %d entries", pr.Entries)
	}
	if rep.Probes[hostMarker].Exists {
		t.Errorf("the host's %s is visible in the container", hostMarker)
	}
	if pr := rep.Probes["/mnt/file"]; pr.Content != "bound" {
		t.Errorf("file bind /mnt/file: %+v", pr)
	}
	for p, ok := range map[string]bool{"/newfile": false, "/data/x": false, "/proc/sys/kernel/hostname": false, "/dev/shm/ok": true, "/mnt/ro/x": false} {
		if errText := rep.Writes[p]; (errText == "") != ok {
			t.Errorf("write %s: %q, want success=%v", p, errText, ok)
		}
	}
	// The hostile symlinks led inside the rootfs, never onto the host.
	for _, p := range []string{"/tmp/" + unique, "/" + unique} {
		if _, err := os.Lstat(p); err == nil {
			os.RemoveAll(p)
			t.Errorf("%s was created on the host through a symlink in the rootfs", p)
		}
	}
	for _, p := range []string{"tmp/" + unique, unique + "/x"} {
		if st, err := os.Stat(filepath.Join(rootfs, p)); err != nil || !st.IsDir() {
			t.Errorf("rootfs/%s: want the mount point inside the rootfs (%v)", p, err)
		}
	}
}

func TestContainerRootfsNoPivot(t *testing.T) {
	rootfs := busybox(t)
	hostMarker := filepath.Join(t.TempDir(), "host-marker")
	must(t, os.WriteFile(hostMarker, nil, 0o644))
	spec := ocispec.Default()
	spec.Root.Readonly = false
	// No cgroup namespace: the cgroup mounts become binds of our own cgroups.
	spec.Linux.Namespaces = nil
	rep, stderr, err := runHelper(t, allNS&^unix.CLONE_NEWCGROUP, helperInput{
		Rootfs: rootfs, Spec: spec, NoPivot: true, UserNS: true,
		Probe: []string{hostMarker, "/dev/null", "/dev/tty", "/bin/busybox"},
		Write: []string{"/newfile"},
	})
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	if rep.Probes[hostMarker].Exists {
		t.Errorf("the host's %s is visible after MS_MOVE + chroot", hostMarker)
	}
	if !rep.Probes["/bin/busybox"].Exists || rep.Probes["/dev/null"].Major != 1 {
		t.Errorf("rootfs not in place: %+v", rep.Probes)
	}
	if rep.Writes["/newfile"] != "" {
		t.Errorf("write to a read-write root: %s", rep.Writes["/newfile"])
	}
	m := mountsByPoint(rep.Mountinfo)
	// With UserNS the devices are the host's nodes, bound.
	for _, p := range []string{"/dev/null", "/dev/tty"} {
		if _, ok := m[p]; !ok {
			t.Errorf("%s is not a bind mount of the host's node", p)
		}
	}
	if pr := rep.Probes["/dev/tty"]; pr.Major != 5 || pr.Minor != 0 {
		t.Errorf("/dev/tty: %+v", pr)
	}
	if got := m["/sys/fs/cgroup/memory"]; got[0] != "cgroup" || !hasOpt(got[1], "ro") {
		t.Errorf("/sys/fs/cgroup/memory: %v", got)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "newfile")); err != nil {
		t.Errorf("the file written in the container is not in the rootfs: %v", err)
	}
}

func TestContainerRootfsMountError(t *testing.T) {
	rootfs := busybox(t)
	spec := ocispec.Default()
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/bogus", Type: "nosuchfs", Source: "src"})
	_, stderr, err := runHelper(t, allNS, helperInput{Rootfs: rootfs, Spec: spec})
	if err == nil {
		t.Fatal("a mount of an unknown filesystem type succeeded")
	}
	if want := "prepare: mount src on /bogus (nosuchfs): no such device"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func u32(v uint32) *uint32 { return &v }
