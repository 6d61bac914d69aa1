package seccomp

import (
	"math"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Profiles often allow one syscall for a list of values of one argument
// as a run of rules, one value each: Docker's lets socket(2) through for
// 30 address families. Since the rules of such a run share their action,
// the first of them that holds decides nothing the others would not, so
// the run is a test of the argument against a set of values, which the
// filter makes once: load the argument, then walk the set's ranges.

// span is the values [lo, hi] of an argument.
type span struct{ lo, hi uint64 }

// setRun returns how many rules from rs[0] on form such a run (one
// condition each, on one argument, with an ordering operator, one action)
// and the union of their values, sorted and disjoint; n < 2 when there is
// no run. On a 64-bit architecture every range must lie under a single
// high word, so that one comparison of the high words decides it.
func setRun(rs []*rule, wide bool) (n int, set []span) {
	first := rs[0]
	for _, r := range rs {
		if len(r.args) != 1 || r.act != first.act || r.args[0].Index != first.args[0].Index {
			break
		}
		s, ok := condSpans(r.args[0], wide)
		if !ok {
			break
		}
		set = append(set, s...)
		n++
	}
	set = union(set)
	if n < 2 || len(set) == 0 {
		return 0, nil
	}
	for _, s := range set {
		if s.lo>>32 != set[0].lo>>32 || s.hi>>32 != set[0].lo>>32 {
			return 0, nil
		}
	}
	return n, set
}

// condSpans returns the values that satisfy c, in the argument's width:
// a 32-bit architecture compares the low words.
func condSpans(c specs.LinuxSeccompArg, wide bool) ([]span, bool) {
	top, k := uint64(math.MaxUint64), c.Value
	if !wide {
		top, k = math.MaxUint32, uint64(uint32(k))
	}
	switch c.Op {
	case specs.OpEqualTo:
		return []span{{k, k}}, true
	case specs.OpNotEqual:
		var s []span
		if k > 0 {
			s = append(s, span{0, k - 1})
		}
		if k < top {
			s = append(s, span{k + 1, top})
		}
		return s, true
	case specs.OpLessThan:
		if k == 0 {
			return nil, true
		}
		return []span{{0, k - 1}}, true
	case specs.OpLessEqual:
		return []span{{0, k}}, true
	case specs.OpGreaterThan:
		if k == top {
			return nil, true
		}
		return []span{{k + 1, top}}, true
	case specs.OpGreaterEqual:
		return []span{{k, top}}, true
	}
	return nil, false // SCMP_CMP_MASKED_EQ
}

// union sorts spans and merges those that overlap or touch.
func union(s []span) []span {
	sort.Slice(s, func(i, j int) bool { return s[i].lo < s[j].lo })
	var out []span
	for _, x := range s {
		if n := len(out); n > 0 && (x.lo <= out[n-1].hi || x.lo == out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	return out
}

// argSet falls through when argument i holds a value of set, a union
// from setRun, and jumps to fail when not. After the high words agree,
// the ranges are walked upwards; on reaching range j the argument lies
// above range j-1 (or is not in range j-1 when that was a single value,
// tested with one jeq, which is as good, since no later range reaches
// below it):
//
//	jgt hi_j, next, fall; jge lo_j, pass, fail    a range
//	jeq v_j, pass, next                           a single value
//
// where next is range j+1, or fail after the last.
func (g *gen) argSet(i uint, set []span, fail label, wide bool) {
	lo, hi := g.argWords(i)
	if wide {
		g.load(hi)
		g.cond(jeq, uint32(set[0].lo>>32), fall, fail)
	}
	g.load(lo)
	pass := g.newLabel()
	for j, s := range set {
		last := j == len(set)-1
		l, h := uint32(s.lo), uint32(s.hi)
		miss := fail // where a value above this range goes
		if !last {
			miss = g.newLabel()
		}
		switch {
		case l == h:
			g.cond(jeq, l, pass, miss)
		case l == 0 && h == math.MaxUint32:
			g.jump(pass)
		case l == 0: // the first range: nothing lies below it
			g.cond(jgt, h, miss, pass)
		case h == math.MaxUint32: // the last range: nothing lies above it
			g.cond(jge, l, pass, fail)
		default:
			g.cond(jgt, h, miss, fall)
			g.cond(jge, l, pass, fail)
		}
		if !last {
			g.bind(miss)
		}
	}
	g.bind(pass)
}
