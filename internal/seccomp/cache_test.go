package seccomp

import (
	"golang.org/x/sys/unix"
)

// cacheAllows does what the kernel's seccomp_is_const_allow does when it
// prepares a filter's cache at install: run the program for one syscall
// number and architecture without arguments, and say whether it surely
// allows. It gives up (false) on any load other than nr or arch and any
// instruction it does not know. steps counts the instructions it ran.
func cacheAllows(prog []unix.SockFilter, nr, arch uint32) (allow bool, steps int) {
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		steps++
		switch in.Code {
		case ldAbs:
			switch in.K {
			case offNr:
				a = nr
			case offArch:
				a = arch
			default:
				return false, steps
			}
		case retK:
			return in.K == unix.SECCOMP_RET_ALLOW, steps
		case ja:
			pc += int(in.K)
		case jeq, jge, jgt, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var ok bool
			switch in.Code {
			case jeq:
				ok = a == in.K
			case jge:
				ok = a >= in.K
			case jgt:
				ok = a > in.K
			default:
				ok = a&in.K != 0
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case andK:
			a &= in.K
		default:
			return false, steps
		}
	}
	return false, steps
}

// cachePrep is what preparing the cache costs and yields on x86_64: every
// number below the native and the compat (i386) syscall counts.
func cachePrep(prog []unix.SockFilter) (allowed map[[2]uint32]bool, steps int) {
	allowed = map[[2]uint32]bool{}
	for _, arch := range []struct{ audit, n uint32 }{{unix.AUDIT_ARCH_X86_64, 470}, {unix.AUDIT_ARCH_I386, 470}} {
		for nr := range arch.n {
			ok, n := cacheAllows(prog, nr, arch.audit)
			steps += n
			if ok {
				allowed[[2]uint32{arch.audit, nr}] = true
			}
		}
	}
	return allowed, steps
}
