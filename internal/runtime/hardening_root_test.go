package runtime_test

// Attacks of the 2025 runtime CVE classes (issue 14), each through a real
// container: a /dev shared with the host (a volume another container can
// write) planted with symlinks, a mount redirected onto a procfs file, the
// setup process's dumpability and descriptors.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/caps"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/testutil"
)

// sharedDev replaces the config's /dev tmpfs with a bind of a host
// directory, as a volume shared with another container would be, and
// returns that directory for the test to plant things in.
func sharedDev(t *testing.T, s *specs.Spec) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shared-dev")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, m := range s.Mounts {
		if m.Destination == "/dev" {
			s.Mounts[i] = specs.Mount{Destination: "/dev", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}}
			return dir
		}
	}
	t.Fatal("the default config has no /dev mount")
	return ""
}

// CVE-2025-31133 class: maskedPaths are covered with /dev/null. A /dev/null
// that is a symlink (or any other file) in a shared /dev would make the
// "mask" a writable bind of whatever it points to. The runtime must refuse.
func TestMaskRefusesARedirectedDevNull(t *testing.T) {
	r := newRT(t)
	for _, plant := range []struct {
		name string
		make func(dir string) error
	}{
		{"symlink", func(dir string) error { return os.Symlink("/target", filepath.Join(dir, "null")) }},
		{"regular file", func(dir string) error { return os.WriteFile(filepath.Join(dir, "null"), nil, 0o666) }},
	} {
		t.Run(plant.name, func(t *testing.T) {
			var dev string
			b := testutil.Bundle(t, sh("cat /masked; echo overwritten > /masked"), func(s *specs.Spec) {
				dev = sharedDev(t, s)
				s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/masked")
			})
			rootfs := filepath.Join(b, "rootfs")
			writeFile(t, filepath.Join(rootfs, "masked"), "SECRET\n")
			writeFile(t, filepath.Join(rootfs, "target"), "TARGET\n")
			if err := plant.make(dev); err != nil {
				t.Fatal(err)
			}
			id := r.id()
			out, stderr, code := r.run("run", "--bundle", b, id)
			if code == 0 {
				t.Fatalf("run with /dev/null planted as a %s succeeded (stdout %q); the mask was a bind of it", plant.name, out)
			}
			if !strings.Contains(stderr, "/dev/null") {
				t.Errorf("the error does not name /dev/null: %q", stderr)
			}
			if got, _ := os.ReadFile(filepath.Join(rootfs, "target")); string(got) != "TARGET\n" {
				t.Errorf("/target was written through the mask: %q", got)
			}
			assertGone(t, r, id)
		})
	}
}

// CVE-2025-52565 class: the console is bound onto /dev/console. A
// /dev/console planted as a symlink must not move that bind elsewhere
// (here onto /etc/target, which would then be the pty).
func TestConsoleRefusesASymlinkedTarget(t *testing.T) {
	r := newRT(t)
	var dev string
	b := testutil.Bundle(t, sh("grep -c ' /etc/target ' /proc/self/mountinfo"), func(s *specs.Spec) {
		dev = sharedDev(t, s)
		s.Process.Terminal = true
	})
	writeFile(t, filepath.Join(b, "rootfs", "etc", "target"), "TARGET\n")
	// A bound /dev is used as it is (no nodes made), so it gets what a
	// working /dev needs, and the symlink.
	if err := syscall.Mknod(filepath.Join(dev, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"ptmx": "pts/ptmx", "console": "/etc/target"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			t.Fatal(err)
		}
	}
	con := listenConsole(t)
	id := r.id()
	out, stderr, code := r.run("create", "--console-socket", con.path, "--bundle", b, id)
	if code == 0 {
		t.Fatalf("create with /dev/console planted as a symlink succeeded: %s", out)
	}
	if !strings.Contains(stderr, "/dev/console") {
		t.Errorf("the error does not name /dev/console: %q", stderr)
	}
	assertGone(t, r, id)

	// The ordinary case still works: the console is a bind of the pty.
	b2 := terminalBundle(t, sh("grep ' /dev/console ' /proc/self/mountinfo; echo done; exec sleep 1000"))
	con2 := listenConsole(t)
	r.ok("run", "-d", "--console-socket", con2.path, "--bundle", b2, r.id())
	master, _ := con2.receive()
	if got := readUntil(t, master, "done"); !strings.Contains(got, "devpts") {
		t.Errorf("/dev/console is not a devpts bind: %q", got)
	}
}

// CVE-2025-52881 class: a config mount whose target is a symlink into
// /proc lands over a procfs file (here kernel.domainname); the sysctl
// write must still reach the kernel, not the file bound over it.
func TestSysctlWriteIsNotRedirectedByAMount(t *testing.T) {
	r := newRT(t)
	canary := filepath.Join(t.TempDir(), "canary")
	writeFile(t, canary, "host file\n")
	b := testutil.Bundle(t, sh("uname -n; cat /proc/sys/kernel/domainname"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol/x", Type: "bind", Source: canary, Options: []string{"bind"}})
		s.Linux.Sysctl = map[string]string{"kernel.domainname": "pwned"}
	})
	vol := filepath.Join(b, "rootfs", "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/sys/kernel/domainname", filepath.Join(vol, "x")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := r.run("run", "--bundle", b, r.id())
	if got, _ := os.ReadFile(canary); string(got) != "host file\n" {
		t.Fatalf("the sysctl write went to the host file bound over /proc/sys/kernel/domainname: %q", got)
	}
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, out, stderr)
	}
}

// The setup process is not dumpable until it execs the program. The
// attacker is a process exec'd into the container with every capability
// of its user namespace; the namespace maps root to root, so no credential
// change makes the setup process non-dumpable by accident. A dumpable one
// would let it read the setup process's environment (and ptrace it, or
// open its /proc/PID/fd); the program, once exec'd, is dumpable again.
func TestSetupProcessIsNotDumpable(t *testing.T) {
	r := newRT(t)
	testutil.Requires(t, "userns")
	b := testutil.Bundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
		s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
	})
	all := caps.Known()
	proc := specs.Process{
		Args: []string{"cat", "/proc/1/environ"}, Env: []string{"PATH=/bin"}, Cwd: "/",
		Capabilities: &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all},
	}
	pf := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(proc)
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	id := r.id()
	r.ok("create", "--bundle", b, id)
	if out, stderr, code := r.run("exec", "-p", pf, id); code == 0 || !strings.Contains(stderr, "denied") {
		t.Errorf("a process in the container read the setup process's environment: exit %d %q %q", code, out, stderr)
	}
	r.ok("start", id)
	waitFor(t, "the program to exec", func() bool { return procComm(r.state(id).Pid) == "sleep" })
	if out := r.ok("exec", "-p", pf, id); !strings.Contains(out, "PATH=") {
		t.Errorf("the program's environment, read from inside: %q", out)
	}
}

// No host descriptor reaches the container: neither the setup process
// waiting for start nor the program has a cgroup directory or anything
// else open beyond stdio, the exec fifo and the Go runtime's own.
func TestNoHostFdInTheContainer(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id := r.id()
	r.ok("create", "--bundle", b, id)
	pid := r.state(id).Pid
	for fd, target := range fdTargets(t, pid) {
		if strings.HasPrefix(target, "/sys/") || strings.HasPrefix(target, "/proc/") ||
			(strings.HasPrefix(target, "/") && fd > 2 && !strings.HasSuffix(target, "exec.fifo")) {
			t.Errorf("the created container's setup process holds fd %d -> %s", fd, target)
		}
	}
	r.ok("start", id)
	waitFor(t, "the program to exec", func() bool { return strings.HasPrefix(procComm(pid), "sleep") })
	if got := fdTargets(t, pid); len(got) != 3 {
		t.Errorf("the container's program holds fds %v, want only 0, 1 and 2", got)
	}
	// The container's own view of its first process.
	if got := strings.Fields(r.ok("exec", id, "ls", "/proc/1/fd")); strings.Join(got, " ") != "0 1 2" {
		t.Errorf("inside, /proc/1/fd lists %q, want 0 1 2", got)
	}
}

func fdTargets(t *testing.T, pid int) map[int]string {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, n := range names {
		fd, _ := strconv.Atoi(n.Name())
		out[fd], _ = os.Readlink(filepath.Join(dir, n.Name()))
	}
	return out
}

func procComm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// The container's process tells ps what it is while it waits for start.
func TestSetupProcessIsNamed(t *testing.T) {
	r := newRT(t)
	id := r.id()
	r.ok("create", "--bundle", testutil.Bundle(t, []string{"true"}, nil), id)
	pid := r.state(id).Pid
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " ")); len(args) == 0 || args[0] != "pier-runtime:[init]" {
		t.Errorf("cmdline of the created container's process: %q, want pier-runtime:[init] first", cmdline)
	}
	if c := procComm(pid); c != "pier:[init]" {
		t.Errorf("comm of the created container's process: %q, want pier:[init]", c)
	}
}

// runtime-spec: start MUST generate an error when process is not set; the
// container is then stopped, and delete cleans it up.
func TestStartWithoutProcessFails(t *testing.T) {
	r := newRT(t)
	b := testutil.Bundle(t, nil, func(s *specs.Spec) { s.Process = nil })
	id := r.id()
	r.ok("create", "--bundle", b, id)
	_, stderr, code := r.run("start", id)
	if code == 0 || !strings.Contains(stderr, "no process") {
		t.Errorf("start without process: exit %d %q, want an error naming the missing process", code, stderr)
	}
	if st := r.state(id).Status; st != "stopped" {
		t.Errorf("after the failed start: %s, want stopped", st)
	}
	r.ok("delete", id)
	assertGone(t, r, id)
}

// A device node made in a directory shared with the host (a volume)
// gets its mode after mknod. A racer (here the test, on inotify, as a
// container sharing the volume would) swaps each new node for a symlink
// to a host file between the two; a chmod by name follows the symlink and
// opens the host file to everyone. The runtime must chmod only the node it
// made. It is a race, so several containers with many nodes each.
func TestDeviceChmodDoesNotFollowASwappedNode(t *testing.T) {
	r := newRT(t)
	const nodes, runs = 64, 5
	canary := filepath.Join(t.TempDir(), "canary")
	if err := os.WriteFile(canary, []byte("host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for run := 0; run < runs; run++ {
		vol := filepath.Join(t.TempDir(), "vol")
		if err := os.Mkdir(vol, 0o755); err != nil {
			t.Fatal(err)
		}
		b := testutil.Bundle(t, []string{"true"}, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind"}})
			mode := os.FileMode(0o666)
			for i := 0; i < nodes; i++ {
				s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/vol/d" + strconv.Itoa(i), Type: "c", Major: 1, Minor: 3, FileMode: &mode})
			}
		})
		stop := swapOnCreate(t, vol, canary)
		_, _, _ = r.run("run", "--bundle", b, r.id())
		stop()
		st, err := os.Stat(canary)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("run %d: the host file behind a swapped node was chmodded to %v", run, st.Mode().Perm())
		}
	}
}

// swapOnCreate replaces every file created in dir with a symlink to
// target, as fast as inotify reports it, until stop is called.
func swapOnCreate(t *testing.T, dir, target string) (stop func()) {
	t.Helper()
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.InotifyAddWatch(in, dir, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var stopping atomic.Bool
	go func() {
		defer close(done)
		runtime.LockOSThread()
		buf := make([]byte, 64*1024)
		tmp := 0
		for {
			n, err := unix.Read(in, buf)
			if err != nil || n <= 0 || stopping.Load() {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if !strings.HasPrefix(name, "d") {
					continue
				}
				link := filepath.Join(dir, "l"+strconv.Itoa(tmp))
				tmp++
				if os.Symlink(target, link) == nil {
					_ = os.Rename(link, filepath.Join(dir, name))
				}
			}
		}
	}()
	return func() {
		// A last event wakes the reader, which then sees the flag.
		stopping.Store(true)
		_ = os.WriteFile(filepath.Join(dir, "stop"), nil, 0o644)
		<-done
		unix.Close(in)
	}
}

// The preamble names itself before it reads its bootstrap message; here
// the message never comes, and closing the socket ends the process.
func TestPreambleIsNamed(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.CheckLeaks(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "runtime end"), os.NewFile(uintptr(fds[1]), "preamble end")
	defer ours.Close()
	cmd := exec.Command(testutil.Binary(t, "pier-runtime"), "init")
	cmd.Args[0] = nsenter.NamePreamble
	cmd.Env = []string{nsenter.BootstrapEnv + "=3"}
	cmd.ExtraFiles = []*os.File{theirs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	defer func() { ours.Close(); _ = cmd.Wait() }()
	waitFor(t, "the preamble to name itself", func() bool { return procComm(cmd.Process.Pid) == nsenter.CommPreamble })
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
	if want := nsenter.NamePreamble + "\x00init\x00"; string(cmdline) != want {
		t.Errorf("cmdline %q, want %q", cmdline, want)
	}
}

// The descriptor-based paths, without and with a user namespace: the
// console bound from the pty fd, masks from the checked /dev/null (in a
// user namespace a bind of the host's), the sysctl through the private
// procfs clone, and (without one) oom_score_adj through the checked /proc.
func TestHardenedSetupPaths(t *testing.T) {
	r := newRT(t)
	for _, userns := range []bool{false, true} {
		if userns {
			testutil.Requires(t, "userns")
		}
		script := "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/self/oom_score_adj; wc -c < /proc/keys; " +
			"grep -c ' /dev/console ' /proc/self/mountinfo; echo done; exec sleep 1000"
		b := testutil.Bundle(t, sh(script), func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "1000"}
			// In a user namespace the non-dumpable setup process cannot
			// write its own oom_score_adj (the file belongs to the host's
			// root then); that needs the runtime to write it from outside.
			if userns {
				withUserNS(s)
			} else {
				score := 100
				s.Process.OOMScoreAdj = &score
			}
		})
		traversable(t, b)
		con := listenConsole(t)
		r.ok("run", "-d", "--console-socket", con.path, "--bundle", b, r.id())
		master, _ := con.receive()
		score := "100"
		if userns {
			score = strings.TrimSpace(readFileString(t, "/proc/self/oom_score_adj"))
		}
		got := strings.Fields(readUntil(t, master, "done"))
		want := []string{"1000", score, "0", "1", "done"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("userns %v: sysctl, oom_score_adj, size of masked /proc/keys, console mounts: %q, want %q", userns, got, want)
		}
	}
}

func readFileString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
