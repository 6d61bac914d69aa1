package seccomp

import (
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestLargeProfile gives every x86_64 syscall its own errno on three
// architectures, and one syscall 80 conditional rules, so that the arch
// dispatch, the x32 split and the rules of that syscall all jump across
// more than 255 instructions; then checks every syscall on each.
func TestLargeProfile(t *testing.T) {
	names := make([]string, 0, len(sysnumX86_64()))
	for name := range sysnumX86_64() {
		names = append(names, name)
	}
	sort.Strings(names)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32}}
	for i := range 80 {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{
			Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(1000 + i)),
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: uint64(i) << 31, Op: specs.OpEqualTo}},
		})
	}
	for i, name := range names {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{
			Names: []string{name}, Action: specs.ActErrno, ErrnoRet: uintp(uint(1 + i)),
		})
	}
	f := mustCompile(t, s, amd64Host)
	prog := f.Instructions()
	var longJumps int
	for _, in := range prog {
		if in.Code == ja && in.K > 255 {
			longJumps++
		}
	}
	if longJumps < 3 {
		t.Fatalf("%d BPF_JA beyond 255: the long-jump path went untested", longJumps)
	}
	t.Logf("%d instructions, %d long jumps", len(prog), longJumps)
	m := vm(t, f)
	for _, a := range []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32} {
		for _, name := range names {
			n, ok := arches[a].table()[name]
			if !ok {
				continue
			}
			for _, v := range []uint64{0, 1, 5 << 31, 79 << 31, 80 << 31, 1 << 40} {
				c := call{nr: n, arch: arches[a].audit, args: [6]uint64{v}}
				if got, want := run(t, m, amd64Host, c), reference(s, amd64Host, c); got != want {
					t.Fatalf("%s %s(%#x): got %#x, want %#x", a, name, v, got, want)
				}
			}
		}
	}
}

// TestDockerDefaultProfile compiles Docker's default profile, as moby
// renders it for this machine, with the default capabilities and with all
// of them, and checks it fits the kernel's limit and behaves.
func TestDockerDefaultProfile(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the spot checks use x86_64 numbers")
	}
	for _, caps := range [][]string{
		{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"},
		{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_SYS_TIME", "CAP_SYSLOG", "CAP_BPF", "CAP_PERFMON"},
	} {
		spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
		s, err := mobyseccomp.GetDefaultProfile(spec)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Compile(s)
		if err != nil {
			t.Fatalf("compile Docker's profile: %v", err)
		}
		n := len(f.Instructions())
		t.Logf("caps %v: %d rules, %d instructions", caps, len(s.Syscalls), n)
		if n > 1500 {
			t.Errorf("%d instructions: far more than the profile needs", n)
		}
		m := vm(t, f)
		r := rand.New(rand.NewPCG(1, uint64(n)))
		for range 20000 {
			c := randomDockerCall(r)
			if got, want := run(t, m, amd64Host, c), reference(s, amd64Host, c); got != want {
				t.Fatalf("%+v: got %#x, want %#x", c, got, want)
			}
		}
		dockerSpotChecks(t, m, caps[0] == "CAP_SYS_ADMIN")
	}
}

func dockerSpotChecks(t *testing.T, m interface{ Run([]byte) (int, error) }, admin bool) {
	t.Helper()
	allow, eperm := uint32(unix.SECCOMP_RET_ALLOW), errnoRet(unix.EPERM)
	ifAdmin := func(yes, no uint32) uint32 {
		if admin {
			return yes
		}
		return no
	}
	for _, tc := range []struct {
		what string
		c    call
		want uint32
	}{
		{"read", call{nr: 0, arch: x86_64}, allow},
		{"mount", call{nr: 165, arch: x86_64}, ifAdmin(allow, eperm)},
		{"kexec_load", call{nr: 246, arch: x86_64}, eperm},
		{"clone plain", call{nr: 56, arch: x86_64, args: [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD}}, allow},
		{"clone newuser", call{nr: 56, arch: x86_64, args: [6]uint64{unix.CLONE_NEWUSER}}, ifAdmin(allow, eperm)},
		{"clone3", call{nr: 435, arch: x86_64}, ifAdmin(allow, errnoRet(unix.ENOSYS))},
		{"socket inet", call{nr: 41, arch: x86_64, args: [6]uint64{unix.AF_INET}}, allow},
		{"socket vsock", call{nr: 41, arch: x86_64, args: [6]uint64{unix.AF_VSOCK}}, eperm},
		{"personality linux", call{nr: 135, arch: x86_64, args: [6]uint64{0}}, allow},
		{"personality other", call{nr: 135, arch: x86_64, args: [6]uint64{0x42}}, eperm},
		{"i386 read", call{nr: 3, arch: unix.AUDIT_ARCH_I386}, allow},
		{"x32 read", call{nr: x32Bit, arch: x86_64}, allow},
		{"aarch64 read", call{nr: 63, arch: unix.AUDIT_ARCH_AARCH64}, badArch},
	} {
		out, err := m.Run(encode(amd64Host, tc.c))
		if err != nil {
			t.Fatal(err)
		}
		if got := uint32(out); got != tc.want {
			t.Errorf("admin=%v %s: got %#x, want %#x", admin, tc.what, got, tc.want)
		}
	}
}

func randomDockerCall(r *rand.Rand) call {
	c := call{arch: []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_AARCH64}[r.IntN(3)]}
	c.nr = uint32(r.IntN(480))
	if c.arch == unix.AUDIT_ARCH_X86_64 && r.IntN(4) == 0 {
		c.nr |= x32Bit
	}
	for i := range c.args {
		c.args[i] = randomValue(r)
		if r.IntN(3) == 0 {
			c.args[i] = uint64(r.IntN(64))
		}
	}
	return c
}
