package seccomp

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// reference evaluates a config on one call the slow, obvious way, straight
// from the documented semantics, for the compiled program to be checked
// against. It trusts parse only for encoding actions.
func reference(s *specs.LinuxSeccomp, h host, c call) uint32 {
	if refLast.s != s || refLast.h != h {
		p, err := parse(s, h)
		if err != nil {
			panic(err)
		}
		refLast.s, refLast.h, refLast.p = s, h, p
	}
	p := refLast.p
	a := refArch(p, c)
	if a == nil {
		return badArch
	}
	for _, r := range p.rules {
		if !refNames(a, r.names, c.nr) {
			continue
		}
		ok := true
		for _, cond := range r.args {
			ok = ok && refCond(cond, c.args[cond.Index], a.wide)
		}
		if ok {
			return r.act
		}
	}
	return p.def
}

// refLast caches the last config's plan: tests ask about one config many
// times in a row, and tests in this package do not run in parallel.
var refLast struct {
	s *specs.LinuxSeccomp
	h host
	p *plan
}

func refArch(p *plan, c call) *arch {
	for _, a := range p.arches {
		if a.audit != c.arch {
			continue
		}
		isX32 := a.name == specs.ArchX32
		if a.audit == unix.AUDIT_ARCH_X86_64 && isX32 != (c.nr >= x32Bit) {
			continue
		}
		return a
	}
	return nil
}

func refNames(a *arch, names []string, nr uint32) bool {
	for _, name := range names {
		if n, ok := a.table()[name]; ok && n == nr {
			return true
		}
	}
	return false
}

func refCond(c specs.LinuxSeccompArg, v uint64, wide bool) bool {
	k, k2 := c.Value, c.ValueTwo
	if !wide {
		v, k, k2 = uint64(uint32(v)), uint64(uint32(k)), uint64(uint32(k2))
	}
	switch c.Op {
	case specs.OpEqualTo:
		return v == k
	case specs.OpNotEqual:
		return v != k
	case specs.OpGreaterThan:
		return v > k
	case specs.OpGreaterEqual:
		return v >= k
	case specs.OpLessThan:
		return v < k
	case specs.OpLessEqual:
		return v <= k
	case specs.OpMaskedEqual:
		return v&k == k2
	}
	panic("unknown operator " + c.Op)
}
