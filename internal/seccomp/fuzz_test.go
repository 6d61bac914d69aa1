package seccomp

import (
	"math/rand/v2"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FuzzCompile builds a random config from the two seeds, compiles it for a
// random host, and checks the program against reference on random calls.
// `go test -fuzz FuzzCompile` explores further; the seeds below run always.
func FuzzCompile(f *testing.F) {
	for i := range uint64(40) {
		f.Add(i, i*7919)
	}
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		h := []host{amd64Host, arm64Host, s390xHost}[r.IntN(3)]
		s := randomConfig(r)
		fl, err := compile(s, h)
		if err != nil {
			t.Fatalf("compile %+v: %v", s, err)
		}
		m := vm(t, fl)
		for range 200 {
			c := randomCall(r, h)
			if got, want := run(t, m, h, c), reference(s, h, c); got != want {
				t.Fatalf("config %+v\ncall %+v: got %#x, want %#x", s, c, got, want)
			}
		}
	})
}

// fuzzNames are few, so that rules often share a syscall.
var fuzzNames = []string{"read", "write", "getcwd", "mkdirat", "ioctl", "clone", "socket", "personality"}

var fuzzEdges = []uint64{0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
	0x100000001, 0xffffffff00000000, 0x8000000000000000, 0xffffffffffffffff}

func randomValue(r *rand.Rand) uint64 {
	switch r.IntN(3) {
	case 0:
		return fuzzEdges[r.IntN(len(fuzzEdges))]
	case 1:
		return fuzzEdges[r.IntN(len(fuzzEdges))] ^ uint64(r.IntN(4))
	default:
		return r.Uint64()
	}
}

var fuzzActions = []specs.LinuxSeccompAction{specs.ActAllow, specs.ActErrno, specs.ActKill,
	specs.ActKillProcess, specs.ActTrap, specs.ActLog, specs.ActTrace}

var fuzzOps = []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan,
	specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}

func randomAction(r *rand.Rand) (specs.LinuxSeccompAction, *uint) {
	act := fuzzActions[r.IntN(len(fuzzActions))]
	if (act == specs.ActErrno || act == specs.ActTrace) && r.IntN(2) == 0 {
		return act, uintp(uint(r.IntN(4096)))
	}
	return act, nil
}

func randomConfig(r *rand.Rand) *specs.LinuxSeccomp {
	s := &specs.LinuxSeccomp{}
	s.DefaultAction, s.DefaultErrnoRet = randomAction(r)
	all := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM, specs.ArchS390X}
	for _, a := range all {
		if r.IntN(2) == 0 {
			s.Architectures = append(s.Architectures, a)
		}
	}
	for range r.IntN(12) {
		var sc specs.LinuxSyscall
		for range 1 + r.IntN(3) {
			sc.Names = append(sc.Names, fuzzNames[r.IntN(len(fuzzNames))])
		}
		sc.Action, sc.ErrnoRet = randomAction(r)
		for range r.IntN(4) {
			sc.Args = append(sc.Args, specs.LinuxSeccompArg{
				Index: uint(r.IntN(3)), Op: fuzzOps[r.IntN(len(fuzzOps))],
				Value: randomValue(r), ValueTwo: randomValue(r),
			})
		}
		s.Syscalls = append(s.Syscalls, sc)
	}
	return s
}

func randomCall(r *rand.Rand, h host) call {
	audits := []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_AARCH64,
		unix.AUDIT_ARCH_ARM, unix.AUDIT_ARCH_S390X, unix.AUDIT_ARCH_PPC64LE}
	c := call{arch: audits[r.IntN(len(audits))]}
	// Mostly numbers the rules name, on some architecture.
	a := arches[[]specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM, specs.ArchS390X}[r.IntN(6)]]
	if n, ok := a.table()[fuzzNames[r.IntN(len(fuzzNames))]]; ok && r.IntN(8) != 0 {
		c.nr = n
	} else {
		c.nr = uint32(r.IntN(600)) | uint32(r.IntN(2))*x32Bit
	}
	for i := range c.args {
		c.args[i] = randomValue(r)
	}
	return c
}
