package seccomp

import specs "github.com/opencontainers/runtime-spec/specs-go"

// arg emits one argument condition: fall through when it holds, jump to
// fail when not. Classic BPF compares 32-bit words, so on 64-bit
// architectures a 64-bit unsigned comparison is decided by the high words
// unless they are equal, and only then by the low words. 32-bit
// architectures compare the low word alone.
func (g *gen) arg(c specs.LinuxSeccompArg, fail label, wide bool) {
	lo, hi := g.argWords(c.Index)
	v := c.Value
	if c.Op == specs.OpMaskedEqual {
		// Value is the mask, ValueTwo the datum, as libseccomp orders them.
		if wide {
			g.load(hi)
			g.and(uint32(v >> 32))
			g.cond(jeq, uint32(c.ValueTwo>>32), fall, fail)
		}
		g.load(lo)
		g.and(uint32(v))
		g.cond(jeq, uint32(c.ValueTwo), fall, fail)
		return
	}
	pass := g.newLabel()
	if wide {
		g.load(hi)
		g.highWord(c.Op, uint32(v>>32), pass, fail)
	}
	g.load(lo)
	g.lowWord(c.Op, uint32(v), pass, fail)
	g.bind(pass)
}

// highWord decides what it can from the high words and falls through to
// the low-word comparison when they are equal.
func (g *gen) highWord(op specs.LinuxSeccompOperator, k uint32, pass, fail label) {
	switch op {
	case specs.OpEqualTo:
		g.cond(jeq, k, fall, fail)
	case specs.OpNotEqual:
		g.cond(jeq, k, fall, pass)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		g.cond(jgt, k, pass, fall)
		g.cond(jeq, k, fall, fail)
	case specs.OpLessThan, specs.OpLessEqual:
		g.cond(jgt, k, fail, fall)
		g.cond(jeq, k, fall, pass)
	}
}

// lowWord compares the low words, which decide alone once the high words
// are equal.
func (g *gen) lowWord(op specs.LinuxSeccompOperator, k uint32, pass, fail label) {
	switch op {
	case specs.OpEqualTo:
		g.cond(jeq, k, pass, fail)
	case specs.OpNotEqual:
		g.cond(jeq, k, fail, pass)
	case specs.OpGreaterThan:
		g.cond(jgt, k, pass, fail)
	case specs.OpGreaterEqual:
		g.cond(jge, k, pass, fail)
	case specs.OpLessThan:
		g.cond(jge, k, fail, pass)
	case specs.OpLessEqual:
		g.cond(jgt, k, fail, pass)
	}
}

// argWords returns the offsets of argument i's low and high 32-bit words,
// which follow the byte order of the kernel the filter runs on.
func (g *gen) argWords(i uint) (lo, hi uint32) {
	off := uint32(offArgs + 8*i)
	if g.h.bigEndian {
		return off + 4, off
	}
	return off, off + 4
}
