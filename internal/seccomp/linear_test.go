package seccomp

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"
)

// The linear generator pier used before the search tree, kept as the
// oracle of the differential tests: per architecture, runs of equal
// numbers sharing one return per action, then a block per syscall with
// conditional rules, then the default.

// linearChunk bounds how many comparisons share one return, so that their
// jumps to it stay short.
const linearChunk = 200

func compileLinear(t testing.TB, s *specs.LinuxSeccomp, h host) []unix.SockFilter {
	t.Helper()
	f, err := linearFilter(s, h)
	if err != nil {
		t.Fatal(err)
	}
	return f.prog
}

func linearFilter(s *specs.LinuxSeccomp, h host) (*Filter, error) {
	p, err := parse(s, h)
	if err != nil {
		return nil, err
	}
	prog, err := generateWith(p, h, (*gen).linear)
	if err != nil {
		return nil, fmt.Errorf("generate linear: %w", err)
	}
	return &Filter{prog: prog, flags: p.flags}, nil
}

func (g *gen) linear(a *arch, _, _ uint32) {
	perNr := g.rulesByNr(a)
	plain := map[uint32][]uint32{} // action -> syscall numbers
	var guarded []uint32
	for nr, rs := range perNr {
		switch {
		case len(rs[0].args) > 0:
			guarded = append(guarded, nr)
		case rs[0].act != g.p.def:
			plain[rs[0].act] = append(plain[rs[0].act], nr)
		}
	}
	acts := make([]uint32, 0, len(plain))
	for act := range plain {
		acts = append(acts, act)
	}
	sortU32(acts)
	for _, act := range acts {
		nrs := plain[act]
		sortU32(nrs)
		for len(nrs) > 0 {
			n := min(len(nrs), linearChunk)
			g.linearRun(nrs[:n], act)
			nrs = nrs[n:]
		}
	}
	sortU32(guarded)
	for _, nr := range guarded {
		next := g.newLabel()
		g.cond(jeq, nr, fall, next)
		g.linearRules(perNr[nr], a.wide)
		g.bind(next)
	}
	g.ret(g.p.def)
}

func (g *gen) linearRun(nrs []uint32, act uint32) {
	hit, miss := g.newLabel(), g.newLabel()
	for i, nr := range nrs {
		if i == len(nrs)-1 {
			g.cond(jeq, nr, hit, miss)
		} else {
			g.cond(jeq, nr, hit, fall)
		}
	}
	g.bind(hit)
	g.ret(act)
	g.bind(miss)
}

// linearRules tries each rule of one syscall in turn.
func (g *gen) linearRules(rs []*rule, wide bool) {
	for _, r := range rs {
		if len(r.args) == 0 {
			g.ret(r.act)
			return
		}
		fail := g.newLabel()
		for _, c := range r.args {
			g.arg(c, fail, wide)
		}
		g.ret(r.act)
		g.bind(fail)
	}
	g.ret(g.p.def)
}

// rulesByNr returns each syscall number of a that a rule names, with its
// rules in config order.
func (g *gen) rulesByNr(a *arch) map[uint32][]*rule {
	perNr := map[uint32][]*rule{}
	for i := range g.p.rules {
		r := &g.p.rules[i]
		for _, name := range r.names {
			if nr, ok := a.table()[name]; ok {
				perNr[nr] = append(perNr[nr], r)
			}
		}
	}
	return perNr
}
