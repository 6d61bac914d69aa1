package seccomp

import (
	"fmt"
	"runtime"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestLoadTreeEnforced installs Docker's default profile, compiled as the
// search tree, as the linear list, and not at all, and makes the same
// syscalls under each: numbers at the edges of the tree's ranges, the
// argument sets of socket(2) and personality(2) (a high word the kernel
// ignores but the filter must not), clone3's ENOSYS, numbers no table
// has, and an x32 one. The tree and the list must agree with each other
// and with the table, and the table differs from the unfiltered run, so
// the filter decided.
func TestLoadTreeEnforced(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "seccomp")
	if runtime.GOARCH != "amd64" {
		t.Skip("uses x86_64 syscall numbers")
	}
	s := dockerProfile(t, []string{"CAP_CHOWN", "CAP_KILL"})
	sys := func(nr uint64, args ...uint64) string {
		op := fmt.Sprintf("syscall %#x", nr)
		for _, a := range args {
			op += fmt.Sprintf(" %#x", a)
		}
		return op
	}
	// The control allows everything, x32 too: without it listed, x32 is a
	// bad architecture.
	allowAll := specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: s.Architectures}
	const afMax = 46 // one past AF_MCTP: the kernel refuses it without loading a module
	for _, tc := range []struct {
		op                 string
		filtered, unfilter unix.Errno
	}{
		{"getcwd 4096", 0, 0},
		{sys(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM), 0, 0},                   // the range 0..2
		{sys(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW), 0, 0},                   // the range 13..18
		{sys(unix.SYS_SOCKET, afMax, unix.SOCK_STREAM), unix.EPERM, unix.EAFNOSUPPORT}, // past 41..45
		{sys(unix.SYS_SOCKET, 1<<32|unix.AF_UNIX, unix.SOCK_STREAM), unix.EPERM, 0},    // the high word
		{sys(unix.SYS_PERSONALITY, 0xffffffff), 0, 0},                                  // a query
		{sys(unix.SYS_PERSONALITY, 1<<32|0xffffffff), unix.EPERM, 0},
		{sys(unix.SYS_CLONE3, 0, 0), unix.ENOSYS, unix.EINVAL},
		{sys(unix.SYS_GETPPID), 0, 0},
		{sys(1000), unix.EPERM, unix.ENOSYS},
		{sys(x32Bit | 1000), unix.EPERM, unix.ENOSYS},
	} {
		var got [3]unix.Errno
		for i, req := range []childRequest{
			{Seccomp: *s, Ops: []string{tc.op}},
			{Seccomp: *s, Ops: []string{tc.op}, Linear: true},
			{Seccomp: allowAll, Ops: []string{tc.op}},
		} {
			out, err := runChildReq(t, req)
			if err != nil {
				t.Fatalf("%s (run %d of tree, linear, unfiltered): %v", tc.op, i, err)
			}
			e := errnos(t, out)
			if len(e) != 1 {
				t.Fatalf("%s: child printed %q", tc.op, out)
			}
			got[i] = e[0]
		}
		if got != [3]unix.Errno{tc.filtered, tc.filtered, tc.unfilter} {
			t.Errorf("%s: tree %v, linear %v, unfiltered %v; want %v, %v, %v",
				tc.op, got[0], got[1], got[2], tc.filtered, tc.filtered, tc.unfilter)
		}
	}
}
