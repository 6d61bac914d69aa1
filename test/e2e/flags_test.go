package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// flagRig drives one pierd with the pier CLI for the run-flag tests.
type flagRig struct {
	t    *testing.T
	d    *pierd
	pier string
}

func newFlagRig(t *testing.T) *flagRig {
	return &flagRig{t: t, d: newPierd(t, "busybox", "overlay"), pier: testutil.Binary(t, "pier")}
}

func (r *flagRig) run(args ...string) (int, string, string) {
	r.t.Helper()
	return run(r.t, r.pier, append([]string{"-H", r.d.host}, args...)...)
}

// out runs a pier command that must succeed and returns its stdout.
func (r *flagRig) out(args ...string) string {
	r.t.Helper()
	code, out, errs := r.run(args...)
	if code != 0 {
		r.t.Fatalf("pier %v = %d, stdout %q, stderr %q", args, code, out, errs)
	}
	return out
}

// rm removes containers when the test ends.
func (r *flagRig) rm(names ...string) {
	r.t.Cleanup(func() { r.run(append([]string{"rm", "-f"}, names...)...) })
}

func (r *flagRig) pid(name string) string {
	r.t.Helper()
	return strings.TrimSpace(r.out("inspect", "-f", "{{.State.Pid}}", name))
}

// statusField is one line's value of /proc/self/status in a container.
func (r *flagRig) statusField(field string, flags ...string) string {
	r.t.Helper()
	args := append(append([]string{"run", "--rm"}, flags...), "busybox", "grep", field+":", "/proc/self/status")
	return strings.TrimSpace(strings.TrimPrefix(r.out(args...), field+":"))
}

func hostStatusField(t *testing.T, field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return ""
}

// TestRunFlagsSecurity: devices, ulimits, capabilities, privileged,
// no-new-privileges and seccomp (unconfined, default, a profile file).
func TestRunFlagsSecurity(t *testing.T) {
	r := newFlagRig(t)
	if got := r.out("run", "--rm", "--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c",
		"echo x > /dev/mynull && ls -l /dev/mynull"); !strings.HasPrefix(got, "crw-rw-rw-") {
		t.Errorf("--device /dev/null:/dev/mynull: %q", got)
	}
	if got := r.out("run", "--rm", "--ulimit", "nofile=256:512", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"); got != "256\n512\n" {
		t.Errorf("--ulimit nofile=256:512: ulimit -n, -Hn = %q", got)
	}
	if got := r.statusField("CapEff", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"); got != "0000000000000400" {
		t.Errorf("--cap-drop ALL --cap-add NET_BIND_SERVICE: CapEff %s, want 0000000000000400", got)
	}
	// Privileged gets every capability this host's bounding set holds.
	if got, want := r.statusField("CapEff", "--privileged"), hostStatusField(t, "CapBnd"); got != want {
		t.Errorf("--privileged: CapEff %s, want the host's %s", got, want)
	}
	mountTmpfs := "mkdir /tmp/m && mount -t tmpfs none /tmp/m && echo mounted"
	if got := r.out("run", "--rm", "--privileged", "busybox", "sh", "-c", mountTmpfs); got != "mounted\n" {
		t.Errorf("--privileged: mount tmpfs: %q", got)
	}
	if code, out, errs := r.run("run", "--rm", "busybox", "sh", "-c", mountTmpfs); code == 0 {
		t.Errorf("an unprivileged container mounted a tmpfs: %q %q", out, errs)
	}
	if got := r.statusField("NoNewPrivs", "--security-opt", "no-new-privileges"); got != "1" {
		t.Errorf("--security-opt no-new-privileges: NoNewPrivs %s", got)
	}
	if got := r.statusField("NoNewPrivs"); got != "0" {
		t.Errorf("default NoNewPrivs %s, want 0", got)
	}
	if got := r.statusField("Seccomp", "--security-opt", "seccomp=unconfined"); got != "0" {
		t.Errorf("seccomp=unconfined: Seccomp %s, want 0", got)
	}
	if got := r.statusField("Seccomp"); got != "2" {
		t.Errorf("default: Seccomp %s, want 2 (filter)", got)
	}
	profile := filepath.Join(t.TempDir(), "nomkdir.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := r.run("run", "--rm", "--security-opt", "seccomp="+profile, "busybox", "sh", "-c", "mkdir /tmp/d; echo $?; touch /tmp/f && echo touched")
	if code != 0 || out != "1\ntouched\n" || !strings.Contains(errs, "Operation not permitted") {
		t.Errorf("seccomp profile denying mkdir: %d %q %q", code, out, errs)
	}
	// The docker CLI sends the profile's JSON too, and the same caps flags.
	code, out, errs = run(t, dockers[0], "--host", r.d.host, "run", "--rm", "--security-opt", "seccomp="+profile,
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "busybox", "sh", "-c", "mkdir /tmp/d; grep CapEff /proc/self/status")
	if code != 0 || out != "CapEff:\t0000000000000400\n" || !strings.Contains(errs, "Operation not permitted") {
		t.Errorf("docker run with the profile and caps: %d %q %q", code, out, errs)
	}
}

// TestRunFlagsProcess: hostname, env-file, --mount volume and tmpfs,
// runc and crun, and bad input that must create nothing.
func TestRunFlagsProcess(t *testing.T) {
	r := newFlagRig(t)
	if got := r.out("run", "--rm", "--hostname", "box", "busybox", "hostname"); got != "box\n" {
		t.Errorf("--hostname box: %q", got)
	}
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# settings\nA=from file\nB=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := r.out("run", "--rm", "--env-file", envFile, "-e", "B=3", "busybox", "sh", "-c", `echo "$A/$B"`); got != "from file/3\n" {
		t.Errorf("--env-file: %q", got)
	}
	t.Cleanup(func() { r.run("volume", "rm", "-f", "flagvol") })
	r.out("run", "--rm", "--mount", "type=volume,src=flagvol,dst=/v", "busybox", "sh", "-c", "echo kept > /v/f")
	got := r.out("run", "--rm", "--mount", "type=volume,src=flagvol,dst=/v,readonly",
		"--mount", "type=tmpfs,dst=/t,tmpfs-size=1m", "busybox", "sh", "-c",
		"cat /v/f; touch /v/g 2>/dev/null || echo ro; grep ' /t ' /proc/mounts")
	if !strings.HasPrefix(got, "kept\nro\ntmpfs /t tmpfs ") || !strings.Contains(got, "size=1024k") {
		t.Errorf("--mount volume and tmpfs: %q", got)
	}
	for _, rt := range []string{"runc", "crun"} {
		t.Run("runtime-"+rt, func(t *testing.T) { r.checkRuntime(t, rt) })
	}
	before := r.out("ps", "-aq")
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--runtime", "nosuch"}, "unknown or invalid runtime name: nosuch"},
		{[]string{"--ulimit", "nofile=abc"}, `invalid argument "nofile=abc" for "--ulimit" flag`},
		{[]string{"--device", "/dev/nonexistent"}, "/dev/nonexistent"},
		{[]string{"--cpus", "1000"}, "Range of CPUs is from 0.01"},
		{[]string{"--memory", "1k"}, "Minimum memory limit allowed is 6MB"},
	} {
		code, out, errs := r.run(append(append([]string{"run", "--rm"}, bad.args...), "busybox", "true")...)
		if code != 125 || !strings.Contains(strings.ToLower(errs), strings.ToLower(bad.want)) {
			t.Errorf("run %v = %d %q %q; want 125 and %q", bad.args, code, out, errs, bad.want)
		}
	}
	if after := r.out("ps", "-aq"); after != before {
		t.Errorf("bad input left containers: ps -aq %q, before %q", after, before)
	}
}

// checkRuntime runs, execs into, stops and removes a container under
// --runtime rt.
func (r *flagRig) checkRuntime(t *testing.T, rt string) {
	if _, err := exec.LookPath(rt); err != nil {
		t.Skipf("%s is not installed", rt)
	}
	name := "rt-" + rt
	r.rm(name)
	code, out, errs := r.run("run", "-d", "--runtime", rt, "--name", name, "busybox", "sleep", "100")
	if strings.Contains(errs, "cgroups in hybrid mode not supported") {
		// crun refuses a hybrid host whose cgroup2 root holds a controller
		// (hugetlb here); pier cannot change the host's cgroups.
		t.Skipf("%s cannot run on this host: %s", rt, errs)
	}
	if code != 0 {
		t.Fatalf("run --runtime %s = %d %q %q", rt, code, out, errs)
	}
	if got := r.out("exec", name, "echo", "in"); got != "in\n" {
		t.Errorf("--runtime %s: exec %q", rt, got)
	}
	start := time.Now()
	r.out("stop", name)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("--runtime %s: stop took %s", rt, d)
	}
	r.out("rm", name)
}

// TestRunFlagsCgroups: --memory-swap, --cpu-shares, --cpuset-cpus land in
// the container's cgroup files; --restart on-failure:2 restarts twice.
func TestRunFlagsCgroups(t *testing.T) {
	testutil.Requires(t, "cgroup1")
	r := newFlagRig(t)
	r.rm("cg", "of")
	r.out("run", "-d", "--name", "cg", "-m", "64m", "--memory-swap", "128m", "--memory-reservation", "32m",
		"--cpu-shares", "512", "--cpuset-cpus", "0", "busybox", "sleep", "100")
	pid := r.pid("cg")
	for _, c := range []struct{ controller, file, want string }{
		{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"memory", "memory.memsw.limit_in_bytes", strconv.Itoa(128 << 20)},
		{"memory", "memory.soft_limit_in_bytes", strconv.Itoa(32 << 20)},
		{"cpu", "cpu.shares", "512"},
		{"cpuset", "cpuset.cpus", "0"},
	} {
		if got := cgroupFile(t, pid, c.controller, c.file); got != c.want {
			t.Errorf("%s = %q, want %q", c.file, got, c.want)
		}
	}
	r.out("run", "-d", "--name", "of", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
	var state string
	if !waitFor(5*time.Second, func() bool {
		_, state, _ = r.run("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", "of")
		return state == "exited 3 2\n"
	}) {
		t.Errorf("--restart on-failure:2: state %q, want exited 3 2", state)
	}
}

// cgroupFile reads a v1 controller's file in the cgroup of pid.
func cgroupFile(t *testing.T, pid, controller, file string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 || !strings.Contains(","+parts[1]+",", ","+controller+",") {
			continue
		}
		v, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", parts[1], parts[2], file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	t.Fatalf("pid %s has no %s cgroup: %s", pid, controller, b)
	return ""
}

// TestRunFlagsJoinNamespaces: --pid, --ipc and --uts container:X join X's
// namespaces, and again X's new ones after X restarts.
func TestRunFlagsJoinNamespaces(t *testing.T) {
	r := newFlagRig(t)
	r.rm("nsx", "nsj")
	r.out("run", "-d", "--name", "nsx", "--ipc", "shareable", "busybox", "sleep", "100")
	nsOf := func(pid string) string {
		var out []string
		for _, ns := range []string{"pid", "ipc", "uts"} {
			l, err := os.Readlink("/proc/" + pid + "/ns/" + ns)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n") + "\n"
	}
	want := nsOf(r.pid("nsx"))
	got := r.out("run", "--name", "nsj", "--pid", "container:nsx", "--ipc", "container:nsx", "--uts", "container:nsx",
		"busybox", "sh", "-c", "for n in pid ipc uts; do readlink /proc/self/ns/$n; done")
	if got != want {
		t.Errorf("joiner's namespaces\n%s, want nsx's\n%s", got, want)
	}
	// POSIX shared memory is a file on the donor's /dev/shm, which pierd
	// keeps on the host for a shareable container.
	r.out("exec", "nsx", "sh", "-c", "echo shared > /dev/shm/seg")
	if got := r.out("run", "--rm", "--ipc", "container:nsx", "busybox", "cat", "/dev/shm/seg"); got != "shared\n" {
		t.Errorf("joiner's /dev/shm/seg = %q, want the donor's", got)
	}
	r.out("run", "-d", "--name", "nsp", "busybox", "sleep", "100")
	t.Cleanup(func() { r.rm("nsp") })
	if code, _, errs := r.run("run", "--rm", "--ipc", "container:nsp", "busybox", "true"); code != 125 || !strings.Contains(errs, "non-shareable IPC") {
		t.Errorf("joining a private IPC = %d %q, want 125 and dockerd's hint", code, errs)
	}
	r.out("restart", "-t", "0", "nsx")
	// The new namespaces may reuse the old inode numbers (the kernel frees
	// and reallocates them), so only the joiner's match is checked: joining
	// the old, gone, namespaces would fail the start.
	want2 := nsOf(r.pid("nsx"))
	r.out("start", "nsj")
	if code := strings.TrimSpace(r.out("wait", "nsj")); code != "0" {
		t.Errorf("restarted joiner exited %s", code)
	}
	logs := strings.Split(r.out("logs", "nsj"), "\n")
	if len(logs) < 4 || strings.Join(logs[len(logs)-4:], "\n") != want2 {
		t.Errorf("restarted joiner's logs %q, want nsx's new\n%s last", logs, want2)
	}
}

// TestRunFlagsLogRotation: --log-opt max-size/max-file rotate the json
// log; logs returns what is kept, in order; logs -f follows rotation.
func TestRunFlagsLogRotation(t *testing.T) {
	r := newFlagRig(t)
	r.rm("lr", "lf")
	r.out("run", "--name", "lr", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox",
		"sh", "-c", "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line$i; done")
	logPath := strings.TrimSpace(r.out("inspect", "-f", "{{.LogPath}}", "lr"))
	for _, p := range []string{logPath, logPath + ".1", logPath + ".2"} {
		if fi, err := os.Stat(p); err != nil || fi.Size() > 2048 {
			t.Errorf("log file %s: %v", p, err)
		}
	}
	if _, err := os.Stat(logPath + ".3"); err == nil {
		t.Errorf("max-file=3 kept a fourth file %s.3", logPath)
	}
	checkConsecutive(t, "logs", r.out("logs", "lr"), 200)

	r.out("run", "-d", "--name", "lf", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox",
		"sh", "-c", "i=0; while [ $i -lt 150 ]; do i=$((i+1)); echo line$i; usleep 10000; done")
	code, out, errs := r.run("logs", "--follow", "lf")
	if code != 0 {
		t.Fatalf("logs --follow = %d %q", code, errs)
	}
	checkConsecutive(t, "logs --follow", out, 150)
}

// checkConsecutive wants lines lineK..lineLast with no gap or repeat, and
// K > 1 (rotation dropped the oldest).
func checkConsecutive(t *testing.T, what, out string, last int) {
	t.Helper()
	lines := strings.Fields(out)
	if len(lines) == 0 {
		t.Fatalf("%s: no output", what)
	}
	first, err := strconv.Atoi(strings.TrimPrefix(lines[0], "line"))
	if err != nil {
		t.Fatalf("%s: first line %q", what, lines[0])
	}
	for i, l := range lines {
		if want := fmt.Sprintf("line%d", first+i); l != want {
			t.Fatalf("%s: line %d is %q, want %q (output %q)", what, i, l, want, out)
		}
	}
	if first+len(lines)-1 != last {
		t.Errorf("%s: ends at line%d, want line%d", what, first+len(lines)-1, last)
	}
	t.Logf("%s: lines %d..%d", what, first, last)
}

// TestRunFlagsBindPropagation: with -v SRC:DST:rshared a mount made under
// SRC on the host after start shows inside; with rprivate it does not.
// SRC is a shared bind mount of itself in the test's temp dir, so nothing
// propagates beyond it.
func TestRunFlagsBindPropagation(t *testing.T) {
	r := newFlagRig(t)
	src := filepath.Join(shortDir(t), "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustMount := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v: %s", args, err, out)
		}
	}
	mustMount("--bind", src, src)
	t.Cleanup(func() { exec.Command("umount", "-l", src).Run() })
	mustMount("--make-private", src)
	mustMount("--make-shared", src)
	r.rm("shared", "private")
	r.out("run", "-d", "--name", "shared", "-v", src+":/data:rshared", "busybox", "sleep", "100")
	r.out("run", "-d", "--name", "private", "-v", src+":/data:rprivate", "busybox", "sleep", "100")
	mustMount("-t", "tmpfs", "-o", "size=1m", "flagtmp", filepath.Join(src, "sub"))
	t.Cleanup(func() { exec.Command("umount", filepath.Join(src, "sub")).Run() })
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := r.out("exec", "shared", "cat", "/data/sub/f"); got != "hi" {
		t.Errorf("rshared: the host's new mount is not inside: %q", got)
	}
	if code, got, _ := r.run("exec", "private", "cat", "/data/sub/f"); code == 0 {
		t.Errorf("rprivate: the host's new mount showed inside: %q", got)
	}
	r.out("rm", "-f", "shared", "private")
}
