package seccomp

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const x86_64 = unix.AUDIT_ARCH_X86_64

func TestDefaultActions(t *testing.T) {
	for _, tc := range []struct {
		act   specs.LinuxSeccompAction
		errno *uint
		want  uint32
	}{
		{specs.ActAllow, nil, unix.SECCOMP_RET_ALLOW},
		{specs.ActKill, nil, unix.SECCOMP_RET_KILL_THREAD},
		{specs.ActKillThread, nil, unix.SECCOMP_RET_KILL_THREAD},
		{specs.ActKillProcess, nil, unix.SECCOMP_RET_KILL_PROCESS},
		{specs.ActTrap, nil, unix.SECCOMP_RET_TRAP},
		{specs.ActLog, nil, unix.SECCOMP_RET_LOG},
		{specs.ActErrno, nil, errnoRet(unix.EPERM)},
		{specs.ActErrno, uintp(uint(unix.ENOSYS)), errnoRet(unix.ENOSYS)},
		{specs.ActErrno, uintp(0), unix.SECCOMP_RET_ERRNO},
		{specs.ActTrace, nil, unix.SECCOMP_RET_TRACE | uint32(unix.EPERM)},
		{specs.ActTrace, uintp(42), unix.SECCOMP_RET_TRACE | 42},
	} {
		s := &specs.LinuxSeccomp{DefaultAction: tc.act, DefaultErrnoRet: tc.errno}
		m := vm(t, mustCompile(t, s, amd64Host))
		for _, name := range []string{"read", "getcwd", "mkdir"} {
			if got := run(t, m, amd64Host, call{nr: nr(t, specs.ArchX86_64, name), arch: x86_64}); got != tc.want {
				t.Errorf("default %s errno %v, %s: got %#x, want %#x", tc.act, tc.errno, name, got, tc.want)
			}
		}
	}
}

func TestRuleActionsAndErrno(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EROFS))},
			{Names: []string{"getcwd"}, Action: specs.ActErrno},
			{Names: []string{"ptrace"}, Action: specs.ActKillProcess},
			{Names: []string{"kill"}, Action: specs.ActTrap},
			{Names: []string{"uname"}, Action: specs.ActLog},
		},
	}
	m := vm(t, mustCompile(t, s, amd64Host))
	for name, want := range map[string]uint32{
		"mkdir": errnoRet(unix.EROFS), "mkdirat": errnoRet(unix.EROFS),
		"getcwd": errnoRet(unix.EPERM), "ptrace": unix.SECCOMP_RET_KILL_PROCESS,
		"kill": unix.SECCOMP_RET_TRAP, "uname": unix.SECCOMP_RET_LOG,
		"read": unix.SECCOMP_RET_ALLOW,
	} {
		if got := run(t, m, amd64Host, call{nr: nr(t, specs.ArchX86_64, name), arch: x86_64}); got != want {
			t.Errorf("%s: got %#x, want %#x", name, got, want)
		}
	}
}

// TestArgs64 checks each operator at the edges where a comparison of only
// one 32-bit word, or a signed one, would give the wrong answer.
func TestArgs64(t *testing.T) {
	edges := []uint64{0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x100000001,
		0x1ffffffff, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffff00000000, 0xffffffffffffffff}
	ops := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpGreaterThan,
		specs.OpGreaterEqual, specs.OpLessThan, specs.OpLessEqual}
	for _, h := range []host{amd64Host, s390xHost} {
		audit := arches[h.native].audit
		read := nr(t, h.native, "read")
		for _, op := range ops {
			for _, k := range edges {
				s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
					Names: []string{"read"}, Action: specs.ActErrno,
					Args: []specs.LinuxSeccompArg{{Index: 3, Value: k, Op: op}},
				}}}
				m := vm(t, mustCompile(t, s, h))
				for _, v := range edges {
					c := call{nr: read, arch: audit}
					c.args[3] = v
					want := uint32(unix.SECCOMP_RET_ALLOW)
					if refCond(s.Syscalls[0].Args[0], v, true) {
						want = errnoRet(unix.EPERM)
					}
					if got := run(t, m, h, c); got != want {
						t.Errorf("%s: arg %#x %s %#x: got %#x, want %#x", h.native, v, op, k, got, want)
					}
				}
			}
		}
	}
}

func TestMaskedEq(t *testing.T) {
	// Docker's clone rule: deny when any namespace flag is set.
	const nsFlags = 0x7E020000
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: nsFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0xff00000000000f0f, ValueTwo: 0x1200000000000101, Op: specs.OpMaskedEqual}}},
	}}
	m := vm(t, mustCompile(t, s, amd64Host))
	for _, tc := range []struct {
		name string
		arg  int
		v    uint64
		want uint32
	}{
		{"clone", 0, unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_SETTLS, unix.SECCOMP_RET_ALLOW},
		{"clone", 0, unix.CLONE_VM | unix.CLONE_NEWUSER, errnoRet(unix.EPERM)},
		{"clone", 0, unix.CLONE_NEWNS, errnoRet(unix.EPERM)},
		{"clone", 0, 0xffffffff00000000, unix.SECCOMP_RET_ALLOW}, // mask has no high bits
		{"read", 1, 0x12ffffff00000101, unix.SECCOMP_RET_ALLOW},
		{"read", 1, 0x13ffffff00000101, errnoRet(unix.EPERM)}, // high word differs under the mask
		{"read", 1, 0x1200000000000100, errnoRet(unix.EPERM)}, // low word differs under the mask
		{"read", 1, 0x12000000fffff1f1, unix.SECCOMP_RET_ALLOW},
	} {
		c := call{nr: nr(t, specs.ArchX86_64, tc.name), arch: x86_64}
		c.args[tc.arg] = tc.v
		if got := run(t, m, amd64Host, c); got != tc.want {
			t.Errorf("%s(arg%d=%#x): got %#x, want %#x", tc.name, tc.arg, tc.v, got, tc.want)
		}
	}
}

// TestRulesOrAndAnd: several rules for one syscall are ORed in order, the
// conditions of one rule ANDed, including two on the same argument.
func TestRulesOrAndAnd(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"personality"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}}},
		{Names: []string{"personality"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
		{Names: []string{"personality"}, Action: specs.ActTrap, // 100 < arg0 <= 200 and arg1 != 7
			Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 100, Op: specs.OpGreaterThan},
				{Index: 1, Value: 7, Op: specs.OpNotEqual},
				{Index: 0, Value: 200, Op: specs.OpLessEqual},
			}},
		{Names: []string{"personality"}, Action: specs.ActLog,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 150, Op: specs.OpEqualTo}}},
	}}
	m := vm(t, mustCompile(t, s, amd64Host))
	for _, tc := range []struct {
		a0, a1 uint64
		want   uint32
	}{
		{0, 0, unix.SECCOMP_RET_ALLOW},
		{8, 99, unix.SECCOMP_RET_ALLOW},
		{9, 0, errnoRet(unix.EPERM)},
		{150, 0, unix.SECCOMP_RET_TRAP}, // first matching rule wins over the later LOG
		{150, 7, unix.SECCOMP_RET_LOG},
		{201, 0, errnoRet(unix.EPERM)},
		{100, 0, errnoRet(unix.EPERM)},
		{200, 0, unix.SECCOMP_RET_TRAP},
		{1<<32 | 150, 0, errnoRet(unix.EPERM)},
	} {
		c := call{nr: nr(t, specs.ArchX86_64, "personality"), arch: x86_64}
		c.args[0], c.args[1] = tc.a0, tc.a1
		if got := run(t, m, amd64Host, c); got != tc.want {
			t.Errorf("personality(%#x, %d): got %#x, want %#x", tc.a0, tc.a1, got, tc.want)
		}
	}
}

func TestArchitectures(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd", "socketcall"}, Action: specs.ActAllow}},
	}
	m := vm(t, mustCompile(t, s, amd64Host))
	for _, tc := range []struct {
		what string
		c    call
		want uint32
	}{
		{"x86_64 getcwd", call{nr: 79, arch: x86_64}, unix.SECCOMP_RET_ALLOW},
		{"x86_64 read", call{nr: 0, arch: x86_64}, errnoRet(unix.EPERM)},
		{"i386 getcwd", call{nr: 183, arch: unix.AUDIT_ARCH_I386}, unix.SECCOMP_RET_ALLOW},
		{"i386 socketcall", call{nr: 102, arch: unix.AUDIT_ARCH_I386}, unix.SECCOMP_RET_ALLOW},
		{"i386 nr 79 (settimeofday)", call{nr: 79, arch: unix.AUDIT_ARCH_I386}, errnoRet(unix.EPERM)},
		{"aarch64 not listed", call{nr: 17, arch: unix.AUDIT_ARCH_AARCH64}, badArch},
		{"x32 not listed", call{nr: x32Bit | 79, arch: x86_64}, badArch},
		{"unknown arch", call{nr: 79, arch: 0x1234}, badArch},
	} {
		if got := run(t, m, amd64Host, tc.c); got != tc.want {
			t.Errorf("%s: got %#x, want %#x", tc.what, got, tc.want)
		}
	}
}

func TestX32(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getcwd", "ioctl"}, Action: specs.ActAllow},
			{Names: []string{"read"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
		},
	}
	for _, h := range []host{amd64Host, arm64Host} { // x32 works from a foreign native too
		m := vm(t, mustCompile(t, s, h))
		for _, tc := range []struct {
			what string
			c    call
			want uint32
		}{
			{"x32 getcwd", call{nr: x32Bit | 79, arch: x86_64}, unix.SECCOMP_RET_ALLOW},
			{"x32 ioctl is 514", call{nr: x32Bit | 514, arch: x86_64}, unix.SECCOMP_RET_ALLOW},
			{"x32 16 is not ioctl", call{nr: x32Bit | 16, arch: x86_64}, errnoRet(unix.EPERM)},
			{"x86_64 ioctl", call{nr: 16, arch: x86_64}, unix.SECCOMP_RET_ALLOW},
			{"x32 read low word only", call{nr: x32Bit, arch: x86_64, args: [6]uint64{0xffffffff}}, unix.SECCOMP_RET_ALLOW},
			{"x86_64 read 64-bit", call{nr: 0, arch: x86_64, args: [6]uint64{0x1ffffffff}}, errnoRet(unix.EPERM)},
			{"x32 kill is common", call{nr: x32Bit | 62, arch: x86_64}, errnoRet(unix.EPERM)},
		} {
			if got := run(t, m, h, tc.c); got != tc.want {
				t.Errorf("native %s, %s: got %#x, want %#x", h.native, tc.what, got, tc.want)
			}
		}
	}
	// With x32 alone beside a foreign native, plain x86_64 numbers are a bad arch.
	s.Architectures = []specs.Arch{specs.ArchX32}
	m := vm(t, mustCompile(t, s, arm64Host))
	if got := run(t, m, arm64Host, call{nr: 79, arch: x86_64}); got != badArch {
		t.Errorf("x86_64 with only x32 listed: got %#x, want bad arch", got)
	}
	if got := run(t, m, arm64Host, call{nr: x32Bit | 79, arch: x86_64}); got != unix.SECCOMP_RET_ALLOW {
		t.Errorf("x32 getcwd with only x32 listed: got %#x, want allow", got)
	}
}

func TestErrorsNameTheField(t *testing.T) {
	ok := specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow}
	for _, tc := range []struct {
		s    specs.LinuxSeccomp
		want string
	}{
		{specs.LinuxSeccomp{DefaultAction: "X"}, `linux.seccomp.defaultAction: unknown action "X"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, `linux.seccomp.defaultAction: seccomp notify is not supported`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uintp(1)}, `linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(4096)}, `linux.seccomp.defaultErrnoRet: 4096 is out of range`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86, "SCMP_ARCH_VAX"}},
			`linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_BOGUS"}},
			`linux.seccomp.flags[1]: unsupported flag "SECCOMP_FILTER_FLAG_BOGUS"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}},
			`linux.seccomp.flags[0]: unsupported flag "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{ok, ok, ok,
			{Names: []string{"read", "foo"}, Action: specs.ActAllow}}},
			`linux.seccomp.syscalls[3].names: unknown syscall "foo"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Action: specs.ActAllow}}},
			`linux.seccomp.syscalls[0].names: no syscall named`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{ok, {Names: []string{"read"}, Action: "SCMP_ACT_MAYBE"}}},
			`linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_MAYBE"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}},
			`linux.seccomp.syscalls[0].action: seccomp notify is not supported`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, ErrnoRet: uintp(1)}}},
			`linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_ALLOW`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo}, {Index: 1, Op: "SCMP_CMP_ABOUT"}}}}},
			`linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_ABOUT"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
			`linux.seccomp.syscalls[0].args[0].index: 6 is not an argument index`},
	} {
		_, err := compile(&tc.s, amd64Host)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got error %v, want one containing %q", err, tc.want)
		}
		if err2 := Validate(&tc.s); err2 == nil {
			t.Errorf("Validate accepted what compile refused: %v", err)
		}
	}
	if _, err := compile(nil, amd64Host); err == nil {
		t.Error("compile(nil) succeeded")
	}
}

// TestForeignNames: a name the native architecture lacks is skipped there,
// and still applies on the architectures that have it.
func TestForeignNames(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchARM},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"arm_fadvise64_64", "set_tls", "getcwd", "s390_runtime_instr"}, Action: specs.ActAllow}}}
	m := vm(t, mustCompile(t, s, arm64Host))
	for _, tc := range []struct {
		c    call
		want uint32
	}{
		{call{nr: 270, arch: unix.AUDIT_ARCH_ARM}, unix.SECCOMP_RET_ALLOW},     // arm_fadvise64_64
		{call{nr: 0xf0005, arch: unix.AUDIT_ARCH_ARM}, unix.SECCOMP_RET_ALLOW}, // set_tls
		{call{nr: 17, arch: unix.AUDIT_ARCH_AARCH64}, unix.SECCOMP_RET_ALLOW},  // getcwd
		{call{nr: 270, arch: unix.AUDIT_ARCH_AARCH64}, errnoRet(unix.EPERM)},   // process_vm_readv
	} {
		if got := run(t, m, arm64Host, tc.c); got != tc.want {
			t.Errorf("%+v: got %#x, want %#x", tc.c, got, tc.want)
		}
	}
}

func TestFlags(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{
		"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}}
	f := mustCompile(t, s, amd64Host)
	want := uint(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	if f.Flags() != want {
		t.Errorf("flags %#x, want %#x", f.Flags(), want)
	}
}
