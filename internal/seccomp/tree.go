package seccomp

import (
	"cmp"
	"slices"
)

// The syscalls of one architecture are found by a binary search, not a
// linear list, because the kernel runs the filter far more often than
// once per syscall the container makes: at install, seccomp_cache_prepare
// emulates it for every syscall number of the native and the compat
// architecture, to learn which ones it may allow without running it, and
// the program is JIT-compiled, at a cost that grows with its length. With
// Docker's default profile the linear list made install 1–1.8 ms of every
// container start and exec, ~200k emulated instructions; the search walks
// ~12 per number, is a quarter of the length, and installs in ~0.15 ms.
//
// The numbers 0..2^32-1 are cut into segments, each a run of numbers with
// one plain action or a single syscall with conditional rules; neighbours
// with the same plain action merge, so most of an allow list becomes a few
// ranges. The search compares A with segment starts (jge) and ends in a
// segment's return or its rule block; a part of it that is a few numbers
// amid one action compares them one by one (jeq) instead, when that is
// shorter. Only constant loads of nr and arch and the jumps the kernel's
// cache emulator knows lie on the way, so a syscall whose rules read no
// argument is still resolved at install (cache_test.go checks that the
// cache learns the same syscalls as from the linear list).

// segment is the numbers [lo, hi] of one architecture with one outcome:
// act, or, when rules is set, the rules of syscall lo (== hi), the first
// of them conditional.
type segment struct {
	lo, hi uint32
	act    uint32
	rules  []*rule
}

// segments cuts [lo, hi] into the segments of a, in order.
func (g *gen) segments(a *arch, lo, hi uint32) []segment {
	// Every (number, rule) the config names, by number then rule order:
	// a sort, which is cheaper than a map of slices for the few hundred.
	type use struct {
		nr   uint32
		rule int
	}
	tab := a.table()
	uses := make([]use, 0, 512)
	for i := range g.p.rules {
		for _, name := range g.p.rules[i].names {
			if nr, ok := tab[name]; ok && nr >= lo && nr <= hi {
				uses = append(uses, use{nr, i})
			}
		}
	}
	slices.SortFunc(uses, func(x, y use) int {
		if x.nr != y.nr {
			return cmp.Compare(x.nr, y.nr)
		}
		return cmp.Compare(x.rule, y.rule)
	})
	var segs []segment
	add := func(s segment) {
		if n := len(segs); n > 0 && s.rules == nil && segs[n-1].rules == nil && segs[n-1].act == s.act {
			segs[n-1].hi = s.hi
			return
		}
		segs = append(segs, s)
	}
	next := uint64(lo) // first number no segment covers yet
	for i := 0; i < len(uses); {
		nr := uses[i].nr
		j := i + 1
		for j < len(uses) && uses[j].nr == nr {
			j++
		}
		if uint64(nr) > next {
			add(segment{lo: uint32(next), hi: nr - 1, act: g.p.def})
		}
		if first := &g.p.rules[uses[i].rule]; len(first.args) == 0 {
			add(segment{lo: nr, hi: nr, act: first.act})
		} else {
			rs := make([]*rule, 0, j-i)
			for _, u := range uses[i:j] {
				rs = append(rs, &g.p.rules[u.rule])
			}
			add(segment{lo: nr, hi: nr, rules: rs})
		}
		next, i = uint64(nr)+1, j
	}
	if next <= uint64(hi) {
		add(segment{lo: uint32(next), hi: hi, act: g.p.def})
	}
	return segs
}

// tree emits the search over a's syscall numbers in [lo, hi], which A
// holds. An action that several plain segments share gets one return
// after the search, which their jumps target, so that each of those
// leaves costs no instruction of its own (a trampoline at worst, when it
// lies more than 255 instructions ahead). Other leaves are emitted where
// the search reaches them.
func (g *gen) tree(a *arch, lo, hi uint32) {
	segs := g.segments(a, lo, hi)
	if len(segs) == 1 {
		g.leaf(segs[0], a.wide)
		return
	}
	count := map[uint32]int{} // plain segments by action
	for _, s := range segs {
		if s.rules == nil {
			count[s.act]++
		}
	}
	t := &search{g: g, wide: a.wide, rets: map[uint32]label{}}
	for _, s := range segs {
		if s.rules == nil && count[s.act] > 1 && t.rets[s.act] == 0 {
			t.rets[s.act] = g.newLabel()
			t.acts = append(t.acts, s.act)
		}
	}
	t.half(segs)
	for _, act := range t.acts {
		g.bind(t.rets[act])
		g.ret(act)
	}
}

// search is the state of one tree: the shared returns' labels by action.
type search struct {
	g    *gen
	wide bool
	rets map[uint32]label
	acts []uint32 // the keys of rets in the order their returns follow
}

// split emits the search over segs (two or more): halves by segment count,
// so that every segment is reached after at most ceil(log2(len(segs)))
// comparisons. A leaf needs no comparison of its own, since the splits
// above it leave A inside it.
func (t *search) split(segs []segment) {
	g := t.g
	mid := len(segs) / 2
	lower, upper := segs[:mid], segs[mid:]
	jt, jf := fall, fall
	lowerRet, lowerShared := t.shared(lower)
	upperRet, upperShared := t.shared(upper)
	if lowerShared {
		jf = lowerRet
	}
	switch {
	case upperShared:
		jt = upperRet
	case !lowerShared: // the lower half comes first
		jt = g.newLabel()
	}
	g.cond(jge, upper[0].lo, jt, jf)
	if !lowerShared {
		t.half(lower)
	}
	if !upperShared {
		if jt != fall {
			g.bind(jt)
		}
		t.half(upper)
	}
}

// shared returns the label of the shared return that segs is, when it is
// a single plain segment whose action has one.
func (t *search) shared(segs []segment) (label, bool) {
	if len(segs) != 1 || segs[0].rules != nil {
		return 0, false
	}
	l, ok := t.rets[segs[0].act]
	return l, ok
}

func (t *search) half(segs []segment) {
	if len(segs) == 1 {
		t.g.leaf(segs[0], t.wide)
		return
	}
	if bg, isles := islands(segs); isles != nil {
		t.chain(bg, isles)
		return
	}
	t.split(segs)
}

// maxIslands bounds the numbers a chain compares one by one, so that it
// is never much deeper than the search.
const maxIslands = 8

// islands returns, when segs are a few numbers amid one plain action, that
// action and the segments of those numbers, provided that comparing them
// one by one (a jeq each) takes fewer instructions than the search (a jge
// between each two segments).
func islands(segs []segment) (bg uint32, isles []segment) {
	// Background segments never touch (they would have merged), so at
	// least every other segment is an island.
	if len(segs) > 2*maxIslands+1 {
		return 0, nil
	}
	best := -1
	for i, cand := range segs {
		if cand.rules != nil || (i >= 2 && segs[i-2].rules == nil && segs[i-2].act == cand.act) {
			continue // tried already (or a rule block)
		}
		var is []segment
		nums := 0
		for _, s := range segs {
			if s.rules == nil && s.act == cand.act {
				continue
			}
			nums += int(s.hi-s.lo) + 1
			if nums > maxIslands || nums >= len(segs)-1 {
				is = nil
				break
			}
			is = append(is, s)
		}
		if is != nil && (best < 0 || nums < best) {
			best, bg, isles = nums, cand.act, is
		}
	}
	return bg, isles
}

// chain compares A with each number of each island in turn, then gives
// the background action: the last miss jumps to its shared return, or
// falls through to its own.
func (t *search) chain(bg uint32, isles []segment) {
	g := t.g
	bgRet, bgShared := t.rets[bg]
	for i, s := range isles {
		hit, hitShared := t.shared([]segment{s})
		if !hitShared {
			hit = g.newLabel()
		}
		for n := s.lo; n < s.hi; n++ {
			g.cond(jeq, n, hit, fall)
		}
		miss := fall
		switch {
		case i == len(isles)-1 && bgShared:
			miss = bgRet
		case !hitShared: // past the leaf that follows
			miss = g.newLabel()
		}
		g.cond(jeq, s.hi, hit, miss)
		if !hitShared {
			g.bind(hit)
			g.leaf(s, t.wide)
			if miss != bgRet {
				g.bind(miss)
			}
		}
	}
	if !bgShared {
		g.ret(bg)
	}
}

func (g *gen) leaf(s segment, wide bool) {
	if s.rules != nil {
		g.rules(s.rules, wide)
		return
	}
	g.ret(s.act)
}

// rules tries the rules of one syscall in order: the first whose
// conditions all hold returns its action, else the default. Loading the
// arguments clobbers A, so every path inside ends in a return.
func (g *gen) rules(rs []*rule, wide bool) {
	for len(rs) > 0 {
		r := rs[0]
		if len(r.args) == 0 { // later rules can never be reached
			g.ret(r.act)
			return
		}
		fail := g.newLabel()
		if n, set := setRun(rs, wide); n > 1 {
			g.argSet(r.args[0].Index, set, fail, wide)
			rs = rs[n:]
		} else {
			for _, c := range r.args {
				g.arg(c, fail, wide)
			}
			rs = rs[1:]
		}
		g.ret(r.act)
		g.bind(fail)
	}
	g.ret(g.p.def)
}
