package seccomp

import (
	"math/rand/v2"
	"runtime"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"}
	adminCaps  = []string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_SYS_TIME", "CAP_SYSLOG", "CAP_BPF", "CAP_PERFMON"}
)

func dockerProfile(t testing.TB, caps []string) *specs.LinuxSeccomp {
	t.Helper()
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	s, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trickyProfiles are configs whose search trees and argument sets have
// edges to get wrong: runs of rules that make a set and runs that must not,
// sets across 32-bit boundaries, default allow with a deny list, many
// actions and errnos, and rules on one syscall reached through aliases.
func trickyProfiles() map[string]*specs.LinuxSeccomp {
	all := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM, specs.ArchS390X}
	eq := func(i uint, v uint64) []specs.LinuxSeccompArg {
		return []specs.LinuxSeccompArg{{Index: i, Value: v, Op: specs.OpEqualTo}}
	}
	op := func(i uint, o specs.LinuxSeccompOperator, v uint64) []specs.LinuxSeccompArg {
		return []specs.LinuxSeccompArg{{Index: i, Value: v, Op: o}}
	}
	allow, errno := specs.ActAllow, specs.ActErrno
	rule := func(name string, act specs.LinuxSeccompAction, args []specs.LinuxSeccompArg) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{name}, Action: act, Args: args}
	}
	return map[string]*specs.LinuxSeccomp{
		"deny list": {DefaultAction: allow, Architectures: all, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mount", "umount2", "reboot", "kexec_load", "open_by_handle_at"}, Action: errno},
			{Names: []string{"ptrace"}, Action: specs.ActKillProcess},
			{Names: []string{"getcwd"}, Action: errno, ErrnoRet: uintp(uint(unix.EROFS))},
			{Names: []string{"read"}, Action: specs.ActLog},
			{Names: []string{"write"}, Action: allow}, // the default again
		}},
		"sets": {DefaultAction: errno, DefaultErrnoRet: uintp(uint(unix.ENOSYS)), Architectures: all, Syscalls: []specs.LinuxSyscall{
			// A set of points and ranges, in no order, one of them 0..2.
			rule("socket", allow, eq(0, 9)), rule("socket", allow, op(0, specs.OpLessThan, 3)),
			rule("socket", allow, eq(0, 7)), rule("socket", allow, eq(0, 8)), rule("socket", allow, eq(0, 45)),
			rule("socket", allow, op(0, specs.OpGreaterThan, 0xfffffff0)),
			rule("socket", specs.ActTrap, eq(0, 11)), // ends the set: another action
			rule("socket", allow, eq(0, 12)),         // a new rule, not in the set
			// A set whose ranges cross a high word: per rule on 64-bit, a
			// set on 32-bit.
			rule("personality", allow, eq(0, 1)), rule("personality", allow, eq(0, 1<<32|1)),
			rule("personality", errno, op(1, specs.OpNotEqual, 5)), rule("personality", errno, op(1, specs.OpGreaterEqual, 1<<33)),
			// All values under one high word but for one: a set in the high word 1.
			rule("ioctl", allow, op(1, specs.OpGreaterEqual, 1<<32|100)), rule("ioctl", allow, eq(1, 1<<32|50)),
			rule("ioctl", allow, op(1, specs.OpLessEqual, 1<<32|7)),
			// Sets under the high words 1 and 0xffffffff (up to the top).
			rule("mkdirat", allow, eq(2, 1<<32|50)), rule("mkdirat", allow, eq(2, 1<<32|7)), rule("mkdirat", allow, eq(2, 1<<32|8)),
			rule("fchmod", specs.ActLog, op(1, specs.OpGreaterThan, 1<<64-16)), rule("fchmod", specs.ActLog, eq(1, 0xffffffff00000001)),
			rule("fchmod", specs.ActLog, op(1, specs.OpGreaterEqual, 0xfffffffffffffff0)),
			// Sets that are empty or everything.
			rule("fcntl", allow, op(2, specs.OpLessThan, 0)), rule("fcntl", allow, op(2, specs.OpGreaterThan, 1<<64-1)),
			rule("fcntl", specs.ActLog, op(2, specs.OpLessEqual, 5)), rule("fcntl", specs.ActLog, op(2, specs.OpGreaterThan, 5)),
			// A run broken by a second condition or another argument.
			rule("clone", allow, eq(0, 1)), {Names: []string{"clone"}, Action: allow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 2, Op: specs.OpEqualTo}, {Index: 1, Value: 3, Op: specs.OpEqualTo}}},
			rule("clone", allow, eq(0, 4)), rule("clone", allow, eq(1, 5)),
			{Names: []string{"clone"}, Action: allow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xf0, ValueTwo: 0x10, Op: specs.OpMaskedEqual}}},
			rule("clone", allow, eq(0, 6)),
			{Names: []string{"getcwd", "read", "write", "close"}, Action: allow},
		}},
		"many actions": {DefaultAction: specs.ActTrap, Architectures: all, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "pread64", "readv"}, Action: errno, ErrnoRet: uintp(1)},
			{Names: []string{"write", "pwrite64"}, Action: errno, ErrnoRet: uintp(2)},
			{Names: []string{"openat", "close", "fstat", "mmap"}, Action: allow},
			{Names: []string{"openat"}, Action: errno}, // never reached
			{Names: []string{"mkdirat"}, Action: specs.ActTrace, ErrnoRet: uintp(7), Args: eq(2, 0o700)},
			{Names: []string{"mkdirat"}, Action: allow},
			{Names: []string{"kill"}, Action: specs.ActKill, Args: op(1, specs.OpGreaterThan, 31)},
			{Names: []string{"exit", "exit_group"}, Action: specs.ActAllow},
		}},
	}
}

// TestTreeMatchesLinear runs the program pier compiled before the search
// tree (linear_test.go) and the tree side by side in the BPF VM, on every
// syscall number of every architecture each filter lists, and on the
// numbers around them, with arguments drawn from the rules' own values,
// and asserts they return the same for every call.
func TestTreeMatchesLinear(t *testing.T) {
	profiles := trickyProfiles()
	profiles["docker default"] = dockerProfile(t, dockerCaps)
	profiles["docker admin"] = dockerProfile(t, adminCaps)
	for name, s := range profiles {
		for _, h := range []host{amd64Host, arm64Host, s390xHost} {
			lin := &Filter{prog: compileLinear(t, s, h)}
			tree := mustCompile(t, s, h)
			mLin, mTree := vm(t, lin), vm(t, tree)
			p, err := parse(s, h)
			if err != nil {
				t.Fatal(err)
			}
			var calls int
			for _, c := range exhaustiveCalls(p) {
				calls++
				if got, want := run(t, mTree, h, c), run(t, mLin, h, c); got != want {
					t.Fatalf("%s on %s: %+v: tree %#x, linear %#x", name, h.native, c, got, want)
				}
			}
			t.Logf("%s on %s: %d calls agree; %d instructions, linear %d", name, h.native, calls, len(tree.prog), len(lin.prog))
		}
	}
}

// exhaustiveCalls returns a call for every number up to past the largest
// of each listed architecture's table (with and without the x32 bit on
// x86_64) and for the edges of the number space, on the listed
// architectures and one that is not; the arguments are zero, and for
// numbers with conditional rules also each rule value and its neighbours
// in each argument, and random mixes of them.
func exhaustiveCalls(p *plan) []call {
	audits := []uint32{unix.AUDIT_ARCH_PPC64LE} // never listed
	seen := map[uint32]bool{}
	var nrs []uint32
	add := func(nr uint32) {
		for _, n := range []uint32{nr, nr - 1, nr + 1, nr &^ x32Bit, nr | x32Bit} {
			if !seen[n] {
				seen[n] = true
				nrs = append(nrs, n)
			}
		}
	}
	for nr := range uint32(1100) {
		add(nr)
	}
	for _, n := range []uint32{0, x32Bit, 1<<32 - 1} {
		add(n)
	}
	for _, a := range p.arches {
		audits = append(audits, a.audit)
		for _, nr := range a.table() { // ARM's private ones lie at 0xf0000
			add(nr)
		}
	}
	r := rand.New(rand.NewPCG(7, 11))
	byNr := ruleValues(p)
	var calls []call
	for _, audit := range audits {
		for _, nr := range nrs {
			c := call{nr: nr, arch: audit}
			calls = append(calls, c)
			values := byNr[[2]uint32{audit, nr}]
			if len(values) == 0 {
				continue
			}
			for i := range 6 {
				for _, v := range values {
					c.args = [6]uint64{}
					c.args[i] = v
					calls = append(calls, c)
				}
			}
			for range 16 {
				for i := range c.args {
					c.args[i] = values[r.IntN(len(values))]
				}
				calls = append(calls, c)
			}
		}
	}
	return calls
}

// ruleValues returns, by architecture and number, the values the
// conditional rules for that syscall compare with, their neighbours, and
// the same with other high words.
func ruleValues(p *plan) map[[2]uint32][]uint64 {
	out := map[[2]uint32][]uint64{}
	seen := map[[2]uint32]map[uint64]bool{}
	for _, a := range p.arches {
		tab := a.table()
		for _, r := range p.rules {
			for _, name := range r.names {
				nr, ok := tab[name]
				if !ok || len(r.args) == 0 {
					continue
				}
				key := [2]uint32{a.audit, nr}
				if seen[key] == nil {
					seen[key] = map[uint64]bool{}
				}
				for _, c := range r.args {
					for _, v := range []uint64{c.Value, c.ValueTwo, c.Value | c.ValueTwo, c.Value &^ c.ValueTwo} {
						for _, w := range []uint64{v, v - 1, v + 1} {
							for _, x := range []uint64{w, w ^ 1<<32, w | 0xffffffff00000000, uint64(uint32(w))} {
								if !seen[key][x] {
									seen[key][x] = true
									out[key] = append(out[key], x)
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// TestTreeIsShort: the tree is the point of this package's layout, so
// Docker's default profile must stay far shorter than the linear list,
// every syscall must be decided in a few instructions, and the kernel's
// cache must learn at install exactly the syscalls it learnt from the
// linear list, walking a fraction of the instructions.
func TestTreeIsShort(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the cache emulation is x86_64's")
	}
	for _, caps := range [][]string{dockerCaps, adminCaps} {
		s := dockerProfile(t, caps)
		lin := compileLinear(t, s, amd64Host)
		tree := mustCompile(t, s, amd64Host).prog
		if len(tree)*3 > len(lin) {
			t.Errorf("caps %v: %d instructions, not under a third of the linear list's %d", caps, len(tree), len(lin))
		}
		linAllowed, linSteps := cachePrep(lin)
		treeAllowed, treeSteps := cachePrep(tree)
		if len(treeAllowed) != len(linAllowed) || len(treeAllowed) < 300 {
			t.Errorf("caps %v: the cache allows %d syscalls with the tree, %d with the linear list", caps, len(treeAllowed), len(linAllowed))
		}
		for k := range linAllowed {
			if !treeAllowed[k] {
				t.Errorf("caps %v: arch %#x nr %d: cached with the linear list, not with the tree", caps, k[0], k[1])
			}
		}
		if treeSteps*10 > linSteps {
			t.Errorf("caps %v: preparing the cache runs %d instructions, linear %d: not a tenth", caps, treeSteps, linSteps)
		}
		for _, audit := range []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386} {
			for nr := range uint32(470) {
				if _, steps := cacheAllows(tree, nr, audit); steps > 16 {
					t.Errorf("caps %v: arch %#x nr %d takes %d instructions to decide", caps, audit, nr, steps)
				}
			}
		}
		t.Logf("caps %v: %d instructions (linear %d); cache: %d allowed, %d steps (linear %d)",
			caps, len(tree), len(lin), len(treeAllowed), treeSteps, linSteps)
	}
}
