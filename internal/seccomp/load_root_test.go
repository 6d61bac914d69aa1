package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// childEnv carries a childRequest to the re-executed test binary, which
// loads the filter into itself and reports what the kernel did.
const childEnv = "PIER_SECCOMP_CHILD"

type childRequest struct {
	Seccomp specs.LinuxSeccomp
	// Ops run in order after Load: "getcwd SIZE", "mkdirat PATH MODE",
	// "getppid", "syscall NR ARG...", or "exec PATH ARG..." (which
	// replaces the child).
	Ops []string
	// Linear loads the linear program pier compiled before the search
	// tree; Timed prints how long seccomp(2) took, in ns, before the ops.
	Linear, Timed bool
}

// childMain is the child's whole life: compile, no_new_privs, load, then
// each op on the same locked thread, printing one errno per line.
func childMain() int {
	var req childRequest
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &req); err != nil {
		fmt.Println("request:", err)
		return 2
	}
	runtime.LockOSThread()
	compile := Compile
	if req.Linear {
		compile = func(s *specs.LinuxSeccomp) (*Filter, error) { return linearFilter(s, thisHost()) }
	}
	f, err := compile(&req.Seccomp)
	if err == nil {
		// No core files from the kill tests; SIGSYS dumps core by default.
		err = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	}
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	var took time.Duration
	if err == nil {
		start := time.Now()
		err = f.Load()
		took = time.Since(start)
	}
	if err != nil {
		fmt.Println("setup:", err)
		return 2
	}
	if req.Timed {
		fmt.Println(took.Nanoseconds())
	}
	for _, op := range req.Ops {
		fmt.Println(int(childOp(strings.Fields(op))))
	}
	return 0
}

func childOp(op []string) unix.Errno {
	num := func(s string) uintptr { n, _ := strconv.ParseUint(s, 0, 64); return uintptr(n) }
	var errno unix.Errno
	switch op[0] {
	case "getcwd":
		buf := make([]byte, 4096)
		_, _, errno = unix.Syscall(unix.SYS_GETCWD, uintptr(unsafe.Pointer(&buf[0])), num(op[1]), 0)
	case "mkdirat":
		p, _ := unix.BytePtrFromString(op[1])
		cwd := unix.AT_FDCWD
		_, _, errno = unix.Syscall(unix.SYS_MKDIRAT, uintptr(cwd), uintptr(unsafe.Pointer(p)), num(op[2]))
	case "syscall":
		var a [6]uintptr
		for i, v := range op[2:] {
			a[i] = num(v)
		}
		_, _, errno = unix.Syscall6(num(op[1]), a[0], a[1], a[2], a[3], a[4], a[5])
	case "getppid":
		_, _, errno = unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
	case "exec":
		if err := unix.Exec(op[1], op[1:], os.Environ()); err != nil {
			return err.(unix.Errno)
		}
	}
	return errno
}

// runChild runs the ops under s in a child and returns what it printed,
// or the child's error when it did not exit 0.
func runChild(t testing.TB, s specs.LinuxSeccomp, ops ...string) (string, error) {
	t.Helper()
	return runChildReq(t, childRequest{Seccomp: s, Ops: ops})
}

func runChildReq(t testing.TB, r childRequest) (string, error) {
	t.Helper()
	req, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(req))
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("child: %w; output:\n%s", err, out.String())
	}
	return out.String(), nil
}

func errnos(t *testing.T, out string) []unix.Errno {
	t.Helper()
	var got []unix.Errno
	for _, line := range strings.Fields(out) {
		n, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("child printed %q:\n%s", line, out)
		}
		got = append(got, unix.Errno(n))
	}
	return got
}

func TestLoadErrnoAndArgs(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "seccomp")
	dir := t.TempDir()
	s := specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.ENOSPC)),
				Args: []specs.LinuxSeccompArg{{Index: 2, Value: 0o700, Op: specs.OpEqualTo}}},
			{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EDOM)),
				Args: []specs.LinuxSeccompArg{{Index: 1, Value: 1 << 32, Op: specs.OpGreaterThan}}},
			{Names: []string{"getppid"}, Action: specs.ActErrno},
		},
	}
	out, err := runChild(t, s,
		"mkdirat "+filepath.Join(dir, "a")+" 0700",
		"mkdirat "+filepath.Join(dir, "b")+" 0755",
		"getcwd 4096", "getcwd 0x100000000", "getcwd 0x100000001", "getppid")
	if err != nil {
		t.Fatal(err)
	}
	got := errnos(t, out)
	want := []unix.Errno{unix.ENOSPC, 0, 0, 0, unix.EDOM, unix.EPERM}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errnos %v, want %v (mkdir 0700, mkdir 0755, getcwd 4096, 2^32, 2^32+1, getppid)", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mkdirat 0700 was refused but %s exists (stat: %v)", filepath.Join(dir, "a"), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err != nil {
		t.Errorf("mkdirat 0755 was allowed but: %v", err)
	}
}

// TestLoadKill: SCMP_ACT_KILL_PROCESS ends the Go child with SIGSYS, and
// SCMP_ACT_KILL (one thread) ends a single-threaded program the child
// execs, which is how a container meets it.
func TestLoadKill(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "seccomp")
	pwd, err := exec.LookPath("pwd")
	if err != nil {
		t.Skip("no pwd binary")
	}
	for _, tc := range []struct {
		act specs.LinuxSeccompAction
		op  string
	}{
		{specs.ActKillProcess, "getppid"},
		{specs.ActKill, "exec " + pwd + " -P"},
	} {
		s := specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getppid", "getcwd"}, Action: tc.act}}}
		_, err := runChild(t, s, tc.op)
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%s on %q: child was not killed: %v", tc.act, tc.op, err)
		}
		ws := exit.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
			t.Errorf("%s on %q: child ended with %v, want SIGSYS", tc.act, tc.op, err)
		}
	}
}

// TestLoadControl: the same exec with the filter allowing getcwd runs to
// the end, so the kill above is the filter's doing.
func TestLoadControl(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "seccomp")
	pwd, err := exec.LookPath("pwd")
	if err != nil {
		t.Skip("no pwd binary")
	}
	s := specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{
		"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}}
	out, err := runChild(t, s, "exec "+pwd+" -P")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "/") {
		t.Errorf("pwd printed %q, want a path", out)
	}
}

// TestLoadDockerProfile: the kernel takes Docker's default profile as
// compiled, and it refuses unshare(CLONE_NEWUSER) without CAP_SYS_ADMIN
// (EPERM; unfiltered, this multi-threaded child would get EINVAL).
func TestLoadDockerProfile(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "seccomp")
	if runtime.GOARCH != "amd64" {
		t.Skip("uses x86_64 syscall numbers")
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: []string{"CAP_CHOWN", "CAP_KILL"}}}}
	s, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		t.Fatal(err)
	}
	unshare := fmt.Sprintf("syscall %d %d", unix.SYS_UNSHARE, unix.CLONE_NEWUSER)
	out, err := runChild(t, *s, "getcwd 4096", unshare)
	if err != nil {
		t.Fatal(err)
	}
	if got := errnos(t, out); fmt.Sprint(got) != fmt.Sprint([]unix.Errno{0, unix.EPERM}) {
		t.Errorf("getcwd, unshare(CLONE_NEWUSER): errnos %v, want [0 EPERM]", got)
	}
	out, err = runChild(t, specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, unshare)
	if err != nil {
		t.Fatal(err)
	}
	if got := errnos(t, out); fmt.Sprint(got) != fmt.Sprint([]unix.Errno{unix.EINVAL}) {
		t.Errorf("unfiltered unshare(CLONE_NEWUSER): errnos %v, want [EINVAL]", got)
	}
}
