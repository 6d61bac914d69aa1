package seccomp

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// badArch is returned for an architecture the filter does not list.
// libseccomp's default kills the thread; the whole process is the safer
// unit for a container, and kernels before 4.14 read it as a thread kill.
const badArch = unix.SECCOMP_RET_KILL_PROCESS

// chunk bounds how many syscall comparisons share one return instruction,
// so that their jumps to it stay short (< 256) without trampolines.
const chunk = 200

type gen struct {
	asm
	p *plan
	h host
}

// generate lays out the program:
//
//	ld arch; jeq AUDIT_1 -> S1; jeq AUDIT_2 -> S2; ...; ret KILL_PROCESS
//	S1: ld nr; <syscalls of arch 1>; ret default
//	...
//
// x86_64 and x32 share one audit value, so their section first splits on
// the x32 bit of the syscall number.
func generate(p *plan, h host) ([]unix.SockFilter, error) {
	g := &gen{p: p, h: h}
	var audits []uint32
	byAudit := map[uint32][]*arch{}
	for _, a := range p.arches {
		if byAudit[a.audit] == nil {
			audits = append(audits, a.audit)
		}
		byAudit[a.audit] = append(byAudit[a.audit], a)
	}
	sections := make([]label, len(audits))
	g.load(offArch)
	for i, audit := range audits {
		sections[i] = g.newLabel()
		g.cond(jeq, audit, sections[i], fall)
	}
	g.ret(badArch)
	for i, audit := range audits {
		g.bind(sections[i])
		g.load(offNr)
		if audit == unix.AUDIT_ARCH_X86_64 {
			g.x86Section(byAudit[audit])
			continue
		}
		g.body(byAudit[audit][0])
	}
	return g.assemble()
}

// x86Section sends numbers with the x32 bit to the x32 rules, or to the
// bad-arch kill when x32 is not in the filter (else x32 would be a way
// around an x86_64 deny list), and the others to the x86_64 rules.
func (g *gen) x86Section(as []*arch) {
	var x64, x32 *arch
	for _, a := range as {
		if a.name == specs.ArchX32 {
			x32 = a
		} else {
			x64 = a
		}
	}
	// Jumps only go forward, so the kill for a missing half is its own
	// return at the end of the section.
	kill := g.newLabel()
	toX32, toX64 := kill, kill
	if x32 != nil {
		toX32 = g.newLabel()
	}
	if x64 != nil {
		toX64 = fall
	}
	g.cond(jge, x32Bit, toX32, toX64)
	if x64 != nil {
		g.body(x64)
	}
	if x32 != nil {
		g.bind(toX32)
		g.body(x32)
	}
	if x32 == nil || x64 == nil {
		g.bind(kill)
		g.ret(badArch)
	}
}

// body emits one architecture's rules, expecting the syscall number in A.
// Syscalls whose first rule is unconditional are compared in runs sharing
// one return; the rest get a block each that tries their rules in order.
func (g *gen) body(a *arch) {
	perNr := map[uint32][]*rule{}
	for i := range g.p.rules {
		r := &g.p.rules[i]
		for _, name := range r.names {
			if nr, ok := a.table()[name]; ok {
				perNr[nr] = append(perNr[nr], r)
			}
		}
	}
	plain := map[uint32][]uint32{} // action -> syscall numbers
	var guarded []uint32
	for nr, rs := range perNr {
		switch {
		case len(rs[0].args) > 0:
			guarded = append(guarded, nr)
		case rs[0].act != g.p.def: // the default needs no comparison
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
			n := min(len(nrs), chunk)
			g.run(nrs[:n], act)
			nrs = nrs[n:]
		}
	}
	sortU32(guarded)
	for _, nr := range guarded {
		g.block(nr, perNr[nr], a.wide)
	}
	g.ret(g.p.def)
}

// run compares A with each number and returns act on a match.
func (g *gen) run(nrs []uint32, act uint32) {
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

// block handles one syscall with conditional rules: the first rule whose
// conditions all hold returns its action, else the default. Loading the
// arguments clobbers A, so every path inside ends in a return.
func (g *gen) block(nr uint32, rs []*rule, wide bool) {
	next := g.newLabel()
	g.cond(jeq, nr, fall, next)
	for _, r := range rs {
		if len(r.args) == 0 { // later rules can never be reached
			g.ret(r.act)
			g.bind(next)
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
	g.bind(next)
}

func sortU32(s []uint32) { sort.Slice(s, func(i, j int) bool { return s[i] < s[j] }) }
